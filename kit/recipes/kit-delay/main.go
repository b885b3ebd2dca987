// kit-delay holds every packet of one netfilter queue for a fixed time, then lets it pass.
//
// It is the cluster kit's latency fault for kernels without sch_netem: an iptables rule in a pod's network
// namespace sends the matching packets (for example those to the database's port) to NFQUEUE with
// --queue-bypass, and this program, started in the same namespace, gives each one its ACCEPT verdict `delay`
// (plus or minus up to `jitter`, uniformly) after it arrived. Packets keep their order: a packet is never let go
// before the one ahead of it, as netem's delay without reordering does. It ends by itself after
// -max, on SIGTERM/SIGINT, or when its netlink socket fails; the rule's --queue-bypass then lets traffic flow
// untouched, so a dead delayer never becomes a partition.
//
// Only the Go standard library: the nfnetlink_queue messages are written out below (linux/netfilter/
// nfnetlink_queue.h).
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	netlinkNetfilter = 12 // NETLINK_NETFILTER
	subsysQueue      = 3  // NFNL_SUBSYS_QUEUE
	msgPacket        = 0  // NFQNL_MSG_PACKET
	msgVerdict       = 1  // NFQNL_MSG_VERDICT
	msgConfig        = 2  // NFQNL_MSG_CONFIG
	cfgCmd           = 1  // NFQA_CFG_CMD
	cfgParams        = 2  // NFQA_CFG_PARAMS
	cmdBind          = 1  // NFQNL_CFG_CMD_BIND
	copyMeta         = 1  // NFQNL_COPY_META
	attrPacketHdr    = 1  // NFQA_PACKET_HDR
	attrVerdictHdr   = 2  // NFQA_VERDICT_HDR
	nfAccept         = 1  // NF_ACCEPT
	nlmsgError       = 2  // NLMSG_ERROR
	flagRequest      = 1  // NLM_F_REQUEST
	flagAck          = 4  // NLM_F_ACK
)

type held struct {
	id  uint32
	due time.Time
}

func align(n int) int { return (n + 3) &^ 3 }

// message builds one nfnetlink message: nlmsghdr, nfgenmsg (AF_UNSPEC, version 0, queue number) and attributes.
func message(kind uint16, flags uint16, seq uint32, queue uint16, attrs ...[]byte) []byte {
	body := []byte{0, 0, 0, 0}
	binary.BigEndian.PutUint16(body[2:], queue)
	for _, a := range attrs {
		body = append(body, a...)
	}
	msg := make([]byte, 16, 16+len(body))
	binary.LittleEndian.PutUint32(msg[0:], uint32(16+len(body)))
	binary.LittleEndian.PutUint16(msg[4:], subsysQueue<<8|kind)
	binary.LittleEndian.PutUint16(msg[6:], flags)
	binary.LittleEndian.PutUint32(msg[8:], seq)
	return append(msg, body...)
}

func attr(kind uint16, payload []byte) []byte {
	a := make([]byte, align(4+len(payload)))
	binary.LittleEndian.PutUint16(a[0:], uint16(4+len(payload)))
	binary.LittleEndian.PutUint16(a[2:], kind)
	copy(a[4:], payload)
	return a
}

func configure(fd int, queue uint16) error {
	bind := []byte{cmdBind, 0, 0, syscall.AF_INET} // command, pad, pf (big endian)
	params := []byte{0, 0, 0, 0, copyMeta}         // copy_range (big endian), copy_mode: no payload
	for seq, a := range [][]byte{attr(cfgCmd, bind), attr(cfgParams, params)} {
		if err := syscall.Sendto(fd, message(msgConfig, flagRequest|flagAck, uint32(seq+1), queue, a), 0,
			&syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
			return err
		}
		buf := make([]byte, 4096)
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		if n >= 20 && binary.LittleEndian.Uint16(buf[4:]) == nlmsgError {
			if code := int32(binary.LittleEndian.Uint32(buf[16:])); code != 0 {
				return fmt.Errorf("queue %d config step %d refused: %v", queue, seq+1, syscall.Errno(-code))
			}
		}
	}
	return nil
}

// packetIDs reads the packet ids of every NFQNL_MSG_PACKET in one netlink datagram.
func packetIDs(buf []byte) []uint32 {
	var ids []uint32
	for len(buf) >= 16 {
		size := int(binary.LittleEndian.Uint32(buf[0:]))
		if size < 16 || size > len(buf) {
			break
		}
		if binary.LittleEndian.Uint16(buf[4:]) == subsysQueue<<8|msgPacket {
			attrs := buf[20:size]
			for len(attrs) >= 4 {
				alen := int(binary.LittleEndian.Uint16(attrs[0:]))
				if alen < 4 || alen > len(attrs) {
					break
				}
				if binary.LittleEndian.Uint16(attrs[2:])&0x7fff == attrPacketHdr && alen >= 8 {
					ids = append(ids, binary.BigEndian.Uint32(attrs[4:]))
				}
				attrs = attrs[min(align(alen), len(attrs)):]
			}
		}
		buf = buf[min(align(size), len(buf)):]
	}
	return ids
}

func verdict(fd int, queue uint16, id uint32) error {
	hdr := make([]byte, 8)
	binary.BigEndian.PutUint32(hdr[0:], nfAccept)
	binary.BigEndian.PutUint32(hdr[4:], id)
	return syscall.Sendto(fd, message(msgVerdict, flagRequest, 0, queue, attr(attrVerdictHdr, hdr)), 0,
		&syscall.SockaddrNetlink{Family: syscall.AF_NETLINK})
}

// drain lets every packet still held pass at once: closing the socket with packets queued would drop them.
func drain(fd int, queue uint16, pending chan held) {
	for {
		select {
		case p := <-pending:
			_ = verdict(fd, queue, p.id)
		default:
			return
		}
	}
}

func main() {
	queue := flag.Int("queue", 0, "netfilter queue number (the iptables rule's --queue-num)")
	delay := flag.Duration("delay", 0, "how long each packet is held")
	jitter := flag.Duration("jitter", 0, "each packet's hold varies by up to this much either way")
	maxRun := flag.Duration("max", 5*time.Minute, "end by itself after this long (the fault's upper bound)")
	flag.String("label", "", "a name for this holder, so it is found and stopped by its command line")
	flag.Parse()
	if *queue < 0 || *queue > 65535 || *delay <= 0 || *delay > 10*time.Second || *jitter < 0 || *jitter > *delay ||
		*maxRun <= 0 || *maxRun > time.Hour {
		fmt.Fprintln(os.Stderr, "kit-delay: need -queue 0..65535, -delay in (0, 10s], -jitter in [0, delay], -max in (0, 1h]")
		os.Exit(2)
	}
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW, netlinkNetfilter)
	if err == nil {
		err = syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK})
	}
	if err == nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
		err = configure(fd, uint16(*queue))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kit-delay: cannot bind netfilter queue %d: %v\n", *queue, err)
		os.Exit(1)
	}
	fmt.Printf("kit-delay: holding packets of queue %d for %s ± %s (at most %s)\n", *queue, *delay, *jitter, *maxRun)

	pending := make(chan held, 65536)
	done := make(chan struct{})
	go func() { // the reader: stamps each packet with its due time
		buf := make([]byte, 1<<16)
		var last time.Time
		for {
			n, _, err := syscall.Recvfrom(fd, buf, 0)
			if err == syscall.ENOBUFS || err == syscall.EINTR {
				continue // the kernel dropped (or bypassed) some: keep serving the rest
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "kit-delay: receive failed: %v\n", err)
				close(done)
				return
			}
			now := time.Now()
			for _, id := range packetIDs(buf[:n]) {
				due := now.Add(*delay)
				if *jitter > 0 {
					due = due.Add(time.Duration(rand.Int64N(int64(2**jitter+1))) - *jitter)
				}
				if due.Before(last) {
					due = last // in order: never before the packet ahead
				}
				last = due
				pending <- held{id, due}
			}
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	end := time.After(*maxRun)
	for {
		select {
		case p := <-pending:
			time.Sleep(time.Until(p.due))
			if err := verdict(fd, uint16(*queue), p.id); err != nil {
				fmt.Fprintf(os.Stderr, "kit-delay: verdict failed: %v\n", err)
			}
		case <-stop:
			drain(fd, uint16(*queue), pending)
			return
		case <-end:
			drain(fd, uint16(*queue), pending)
			return
		case <-done:
			os.Exit(1)
		}
	}
}
