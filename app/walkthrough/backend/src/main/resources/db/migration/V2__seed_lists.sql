-- The three lists every board starts with.
INSERT INTO lists (name, position) VALUES ('To Do', 0), ('Doing', 1), ('Done', 2);
