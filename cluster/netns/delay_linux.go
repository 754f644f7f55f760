//go:build linux

package netns

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// A link delay for kernels without sch_netem: every packet that enters the
// namespace through its veth is queued to this process (iptables NFQUEUE in
// the namespace's mangle PREROUTING) and accepted d after it arrived. One
// FIFO with one delay keeps the packets' order, as netem does. The rule says
// --queue-bypass: if this process goes away, packets pass undelayed.

// nfnetlink_queue protocol numbers (linux/netfilter/nfnetlink_queue.h).
const (
	nfnlSubsysQueue      = 3
	nfqnlMsgPacket       = 0
	nfqnlMsgVerdictBatch = 3
	nfqnlMsgConfig       = 2
	nfqaPacketHdr        = 1
	nfqaVerdictHdr       = 2
	nfqaCfgCmd           = 1
	nfqaCfgParams        = 2
	nfqaCfgQueueMaxlen   = 3
	nfqnlCfgCmdBind      = 1
	nfqnlCopyMeta        = 1
	nfAccept             = 1

	// delayQueueNum is the queue's number; queues are per namespace, so
	// one number serves every Network.
	delayQueueNum = 7301
	// delayQueueLen bounds the packets held at once (the kernel drops
	// beyond it).
	delayQueueLen = 16384
)

// delayQueue holds the packets of one namespace for a delay.
type delayQueue struct {
	conn    *netlink.Conn
	delay   atomic.Int64 // nanoseconds
	pending chan heldPacket
	lastID  atomic.Uint32
	done    chan struct{}
	wg      sync.WaitGroup
}

type heldPacket struct {
	id  uint32
	due time.Time
}

// startDelayQueue binds the namespace's queue and adds the NFQUEUE rule.
func (n *Network) startDelayQueue(ctx context.Context, d time.Duration) (*delayQueue, error) {
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("a delay without netem needs iptables (apt-get install iptables): %w", errors.Join(err, errors.ErrUnsupported))
	}
	var conn *netlink.Conn
	if err := n.Do(func() error {
		var err error
		conn, err = netlink.Dial(unix.NETLINK_NETFILTER, nil)
		return err
	}); err != nil {
		return nil, fmt.Errorf("open netfilter netlink socket: %w", err)
	}
	q := &delayQueue{conn: conn, pending: make(chan heldPacket, delayQueueLen), done: make(chan struct{})}
	q.delay.Store(int64(d))
	if err := q.bind(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bind netfilter queue %d: %w", delayQueueNum, errors.Join(err, errors.ErrUnsupported))
	}
	q.wg.Add(2)
	go q.receive()
	go q.release()
	if err := n.iptablesQueueRule(ctx, "-A"); err != nil {
		q.close()
		return nil, err
	}
	return q, nil
}

// stop removes the rule, lets every held packet through at once and closes
// the queue.
func (n *Network) stopDelayQueue(ctx context.Context, q *delayQueue) error {
	err := n.iptablesQueueRule(ctx, "-D")
	q.close()
	return err
}

func (n *Network) iptablesQueueRule(ctx context.Context, op string) error {
	args := []string{"netns", "exec", n.Name, "iptables", "-w", "-t", "mangle", op, "PREROUTING",
		"-i", n.PeerLink, "-j", "NFQUEUE", "--queue-num", fmt.Sprint(delayQueueNum), "--queue-bypass"}
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		err = fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		if op == "-A" {
			err = errors.Join(err, errors.ErrUnsupported)
		}
		return err
	}
	return nil
}

// queueMessage is one nfnetlink_queue message: the nfgenmsg header
// (AF_UNSPEC, version 0, the queue number) and attrs.
func queueMessage(msgType uint16, flags netlink.HeaderFlags, attrs []byte) netlink.Message {
	data := make([]byte, 4, 4+len(attrs))
	data[0] = unix.AF_UNSPEC
	binary.BigEndian.PutUint16(data[2:], delayQueueNum)
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nfnlSubsysQueue<<8 | msgType), Flags: netlink.Request | flags},
		Data:   append(data, attrs...),
	}
}

// bind claims the queue, copying packet metadata only (the verdict needs
// just the id).
func (q *delayQueue) bind() error {
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(nfqaCfgCmd, []byte{nfqnlCfgCmdBind, 0, 0, 0}) // command, pad, pf
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	if _, err := q.conn.Execute(queueMessage(nfqnlMsgConfig, netlink.Acknowledge, attrs)); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	params := make([]byte, 5) // copy_range (be32), copy_mode
	params[4] = nfqnlCopyMeta
	maxLen := binary.BigEndian.AppendUint32(nil, delayQueueLen)
	ae = netlink.NewAttributeEncoder()
	ae.Bytes(nfqaCfgParams, params)
	ae.Bytes(nfqaCfgQueueMaxlen, maxLen)
	if attrs, err = ae.Encode(); err != nil {
		return err
	}
	if _, err := q.conn.Execute(queueMessage(nfqnlMsgConfig, netlink.Acknowledge, attrs)); err != nil {
		return fmt.Errorf("copy mode: %w", err)
	}
	return nil
}

// receive reads queued packets and hands each to release with its due time.
func (q *delayQueue) receive() {
	defer q.wg.Done()
	defer close(q.pending)
	for {
		msgs, err := q.conn.Receive()
		if err != nil {
			select {
			case <-q.done:
				return
			default:
			}
			// ENOBUFS: the socket overflowed and the kernel dropped
			// packets; TCP resends them. Anything else ends the queue (the
			// rule's bypass lets packets through).
			if errors.Is(err, unix.ENOBUFS) {
				continue
			}
			return
		}
		now := time.Now()
		for _, m := range msgs {
			if uint16(m.Header.Type) != nfnlSubsysQueue<<8|nfqnlMsgPacket || len(m.Data) < 4 {
				continue
			}
			ad, err := netlink.NewAttributeDecoder(m.Data[4:])
			if err != nil {
				continue
			}
			for ad.Next() {
				if ad.Type() == nfqaPacketHdr && len(ad.Bytes()) >= 4 {
					id := binary.BigEndian.Uint32(ad.Bytes())
					q.lastID.Store(id)
					select {
					case q.pending <- heldPacket{id: id, due: now.Add(time.Duration(q.delay.Load()))}:
					case <-q.done:
						return
					}
				}
			}
		}
	}
}

// release accepts each held packet when it is due, in arrival order.
func (q *delayQueue) release() {
	defer q.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for p := range q.pending {
		if w := time.Until(p.due); w > 0 {
			t.Reset(w)
			select {
			case <-t.C:
			case <-q.done:
				return
			}
		}
		// A verdict for id accepts every packet up to it (batch), so a
		// verdict lost to a full socket is made good by the next one.
		if err := q.accept(p.id); err != nil {
			select {
			case <-q.done:
				return
			default:
			}
		}
	}
}

// accept lets through every held packet with an id up to id.
func (q *delayQueue) accept(id uint32) error {
	v := make([]byte, 8)
	binary.BigEndian.PutUint32(v, nfAccept)
	binary.BigEndian.PutUint32(v[4:], id)
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(nfqaVerdictHdr, v)
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = q.conn.Send(queueMessage(nfqnlMsgVerdictBatch, 0, attrs))
	return err
}

// close accepts whatever is still held (ids are sequential, so a batch
// verdict far enough ahead covers every packet queued so far) and closes
// the socket; closing alone would drop them.
func (q *delayQueue) close() {
	_ = q.accept(q.lastID.Load() + 1<<20)
	close(q.done)
	q.conn.Close()
	q.wg.Wait()
}

// setDelay changes the delay of packets queued from now on.
func (q *delayQueue) setDelay(d time.Duration) { q.delay.Store(int64(d)) }
