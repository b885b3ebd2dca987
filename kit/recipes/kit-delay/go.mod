module kitdelay

go 1.22
