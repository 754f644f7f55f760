package echoserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestStreamFlushesEachChunk(t *testing.T) {
	// The second chunk is due a minute after the first; the first must arrive
	// well before that, so it was flushed rather than buffered.
	s := start(t, Options{MaxDelay: 2 * time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/stream?stream=2&interval=1m", nil)
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/x-ndjson" {
		t.Fatalf("status %d Content-Type %q, want 200 application/x-ndjson", resp.StatusCode, ct)
	}
	line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	if err != nil {
		t.Fatalf("first chunk did not arrive: %v", err)
	}
	got := decode[Chunk](t, line)
	if got.Index != 0 || got.Count != 2 || got.Path != "/stream?stream=2&interval=1m" || got.Pod != "pod-a-0" {
		t.Errorf("first chunk %+v", got)
	}
}

func TestStreamArrivesInPieces(t *testing.T) {
	s := start(t, Options{H2C: true})
	for name, c := range map[string]*http.Client{"HTTP/1.1": newClient(t), "h2c": h2cClient(t)} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL()+"/s?stream=5&interval=100ms&status=201", nil)
			req.Header.Set(SetHeaderHeader, "X-Stream:yes")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 201 || resp.Header.Get("X-Stream") != "yes" {
				t.Errorf("status %d X-Stream %q, want 201 yes", resp.StatusCode, resp.Header.Get("X-Stream"))
			}
			var chunks []Chunk
			var arrived []time.Time
			br := bufio.NewReader(resp.Body)
			for {
				line, err := br.ReadBytes('\n')
				if err == io.EOF && len(line) == 0 {
					break
				}
				if err != nil {
					t.Fatalf("read chunk %d: %v", len(chunks), err)
				}
				arrived = append(arrived, time.Now())
				chunks = append(chunks, decode[Chunk](t, line))
			}
			if len(chunks) != 5 {
				t.Fatalf("%d chunks, want 5", len(chunks))
			}
			for i, got := range chunks {
				if got.Index != i || got.Count != 5 || got.Proto != resp.Proto || got.Path != "/s?stream=5&interval=100ms&status=201" {
					t.Errorf("line %d: chunk %d of %d proto %q path %q", i, got.Index, got.Count, got.Proto, got.Path)
				}
			}
			// At least one chunk arrived before the next one was even written:
			// the answer came in separate pieces, not in one piece at the end.
			separate := 0
			for i := range 4 {
				if arrived[i].Before(chunks[i+1].SentAt) {
					separate++
				}
			}
			if separate == 0 {
				var report []string
				for i, ch := range chunks {
					report = append(report, fmt.Sprintf("chunk %d sent %s arrived %s", i,
						ch.SentAt.Format(time.StampMicro), arrived[i].Format(time.StampMicro)))
				}
				t.Errorf("every chunk arrived after the next was written:\n%s", strings.Join(report, "\n"))
			}
		})
	}
}

func TestWebSocketEcho(t *testing.T) {
	s := start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, path := range []string{"/ws", "/any/path"} {
		header := http.Header{}
		header.Set(SetHeaderHeader, "X-Hello:world")
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+path, &websocket.DialOptions{
			Subprotocols: []string{"echo.v1", "echo.v2"},
			HTTPHeader:   header,
		})
		if err != nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Echo-Pod") != "pod-a-0" ||
			resp.Header.Get("X-Echo-Service") != "svc-a" || resp.Header.Get("X-Hello") != "world" {
			t.Errorf("%s: handshake %d headers %v", path, resp.StatusCode, resp.Header)
		}
		if c.Subprotocol() != "echo.v1" {
			t.Errorf("%s: subprotocol %q, want echo.v1", path, c.Subprotocol())
		}
		c.SetReadLimit(1 << 20)
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB, above the library default limit
		for _, msg := range []struct {
			typ  websocket.MessageType
			data []byte
		}{
			{websocket.MessageText, []byte("hello")},
			{websocket.MessageBinary, []byte{0, 1, 2, 255}},
			{websocket.MessageBinary, big},
		} {
			if err := c.Write(ctx, msg.typ, msg.data); err != nil {
				t.Fatalf("%s: write: %v", path, err)
			}
			typ, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("%s: read: %v", path, err)
			}
			if typ != msg.typ || !bytes.Equal(data, msg.data) {
				t.Errorf("%s: echoed %v of %d bytes, want %v of %d bytes", path, typ, len(data), msg.typ, len(msg.data))
			}
		}
		if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
			t.Errorf("%s: close: %v", path, err)
		}
	}

	// Without the upgrade, /ws is echoed like any path.
	_, body := get(t, newClient(t), s.URL()+"/ws")
	if got := decode[Response](t, body); got.Path != "/ws" {
		t.Errorf("plain GET /ws: path %q", got.Path)
	}
	// A broken handshake (no key) is refused by the WebSocket library.
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	if resp, _ := do(t, newClient(t), req); resp.StatusCode/100 != 4 {
		t.Errorf("upgrade without key: status %d, want 4xx", resp.StatusCode)
	}
}
