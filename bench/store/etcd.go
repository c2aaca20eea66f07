package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// etcdCluster is a 3-member etcd started from the etcd binary on loopback.
type etcdCluster struct {
	version   string
	endpoints []string // host:port of the client URLs
	procs     []*exec.Cmd
	logs      []*bytes.Buffer
	waited    []chan struct{}
	log       *slog.Logger
	stopOnce  sync.Once
}

// etcdVersion returns "3.4.23" for the binary, or an error.
func etcdVersion(ctx context.Context, bin string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run %s --version: %w", bin, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "etcd Version: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s --version: no version in %q", bin, out)
}

// freePorts reserves n distinct loopback ports. They are released before
// etcd binds them; the window is short and the ports are random.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startEtcd starts members under dir and waits until the cluster serves
// linearizable reads. The caller must call stop, also on error paths.
func startEtcd(ctx context.Context, bin, dir string, members int, log *slog.Logger) (*etcdCluster, error) {
	version, err := etcdVersion(ctx, bin)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2 * members)
	if err != nil {
		return nil, err
	}
	c := &etcdCluster{version: version, log: log}
	var initial []string
	for i := range members {
		initial = append(initial, fmt.Sprintf("m%d=http://127.0.0.1:%d", i, ports[2*i+1]))
	}
	token := fmt.Sprintf("pacific-bench-%d-%d", os.Getpid(), time.Now().UnixNano())
	for i := range members {
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		dataDir := filepath.Join(dir, fmt.Sprintf("etcd-m%d", i))
		args := []string{
			"--name", fmt.Sprintf("m%d", i),
			"--data-dir", dataDir,
			"--listen-client-urls", client,
			"--advertise-client-urls", client,
			"--listen-peer-urls", peer,
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", token,
			"--logger", "zap",
			"--log-level", "error",
		}
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &out
		// Own process group, and SIGKILL if this process dies first, so no
		// member outlives the benchmark.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			c.stop()
			return nil, fmt.Errorf("start etcd member %d: %w", i, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		c.procs = append(c.procs, cmd)
		c.logs = append(c.logs, &out)
		c.waited = append(c.waited, done)
		c.endpoints = append(c.endpoints, strings.TrimPrefix(client, "http://"))
	}
	if err := c.waitReady(ctx, 30*time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *etcdCluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	clients, err := dialEtcd(c.endpoints, len(c.endpoints))
	if err != nil {
		return err
	}
	defer clients.close()
	for i := range c.endpoints {
		for {
			for j, d := range c.waited {
				select {
				case <-d:
					return fmt.Errorf("etcd member m%d exited during start-up: %s", j, strings.TrimSpace(c.logs[j].String()))
				default:
				}
			}
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			_, err := clients.get(rctx, i, []byte("/pacific-bench/ready"))
			rcancel()
			if err == nil || errors.Is(err, errKeyNotFound) {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("etcd member %s not ready after %s: %w", c.endpoints[i], timeout, err)
			}
			t := time.NewTimer(50 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
	return nil
}

// stop kills every member and waits for it (bounded).
func (c *etcdCluster) stop() {
	c.stopOnce.Do(func() {
		for i, p := range c.procs {
			if p.Process == nil {
				continue
			}
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			select {
			case <-c.waited[i]:
			case <-time.After(10 * time.Second):
				c.log.Warn("etcd member did not exit after SIGKILL", "pid", p.Process.Pid)
			}
		}
	})
}

// etcdClients talks etcd's v3 gRPC KV API (etcdserverpb.KV) over a few
// connections, like the etcd client and its benchmark tool. It encodes the
// few messages it needs by hand, so go.mod needs no etcd client packages
// (raft-wal already pulls the old github.com/coreos/etcd).
type etcdClients struct {
	conns []*grpc.ClientConn
}

var errKeyNotFound = errors.New("key not found")

// dialEtcd opens n connections spread round-robin over the endpoints.
func dialEtcd(endpoints []string, n int) (*etcdClients, error) {
	c := &etcdClients{}
	for i := range n {
		cc, err := grpc.NewClient(endpoints[i%len(endpoints)],
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
		if err != nil {
			c.close()
			return nil, fmt.Errorf("dial etcd %s: %w", endpoints[i%len(endpoints)], err)
		}
		c.conns = append(c.conns, cc)
	}
	return c, nil
}

func (c *etcdClients) close() {
	for _, cc := range c.conns {
		cc.Close()
	}
}

// put writes key=value on connection i%len(conns) and returns the revision.
func (c *etcdClients) put(ctx context.Context, i int, key, value []byte) (int64, error) {
	// PutRequest{key=1, value=2}
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, key)
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendBytes(req, value)
	var resp rawMsg
	if err := c.conns[i%len(c.conns)].Invoke(ctx, "/etcdserverpb.KV/Put", &rawMsg{b: req}, &resp); err != nil {
		return 0, fmt.Errorf("etcd put: %w", err)
	}
	// PutResponse{header=1{revision=3}}
	hdr, err := field(resp.b, 1)
	if err != nil {
		return 0, err
	}
	rev, err := varintField(hdr, 3)
	if err != nil {
		return 0, err
	}
	return int64(rev), nil
}

// get reads key linearizably (serializable=false) and returns its value.
func (c *etcdClients) get(ctx context.Context, i int, key []byte) ([]byte, error) {
	// RangeRequest{key=1}
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, key)
	var resp rawMsg
	if err := c.conns[i%len(c.conns)].Invoke(ctx, "/etcdserverpb.KV/Range", &rawMsg{b: req}, &resp); err != nil {
		return nil, fmt.Errorf("etcd range: %w", err)
	}
	// RangeResponse{kvs=2{value=5}}
	kv, err := field(resp.b, 2)
	if errors.Is(err, errNoField) {
		return nil, errKeyNotFound
	}
	if err != nil {
		return nil, err
	}
	v, err := field(kv, 5)
	if err != nil && !errors.Is(err, errNoField) {
		return nil, err
	}
	return v, nil
}

var errNoField = errors.New("field not present")

// field returns the first length-delimited field num of a message.
func field(b []byte, num protowire.Number) ([]byte, error) {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, fmt.Errorf("decode etcd response: %w", protowire.ParseError(l))
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil, fmt.Errorf("decode etcd response: %w", protowire.ParseError(l))
			}
			return v, nil
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return nil, fmt.Errorf("decode etcd response: %w", protowire.ParseError(l))
		}
		b = b[l:]
	}
	return nil, errNoField
}

// varintField returns varint field num of a message (0 when absent).
func varintField(b []byte, num protowire.Number) (uint64, error) {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, fmt.Errorf("decode etcd response: %w", protowire.ParseError(l))
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return 0, fmt.Errorf("decode etcd response: %w", protowire.ParseError(l))
			}
			return v, nil
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return 0, fmt.Errorf("decode etcd response: %w", protowire.ParseError(l))
		}
		b = b[l:]
	}
	return 0, nil
}

// rawMsg is an already-encoded protobuf message.
type rawMsg struct{ b []byte }

// rawCodec passes rawMsg bytes through unchanged.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*rawMsg)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMsg)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	m.b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// leaderFirst reorders c.endpoints so the current leader comes first, so
// that connection 0 (the single client of the sequential phase) talks to
// the leader, as it does for Pacific.
func (c *etcdCluster) leaderFirst(ctx context.Context) error {
	clients, err := dialEtcd(c.endpoints, len(c.endpoints))
	if err != nil {
		return err
	}
	defer clients.close()
	for i, ep := range c.endpoints {
		var resp rawMsg
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := clients.conns[i].Invoke(sctx, "/etcdserverpb.Maintenance/Status", &rawMsg{}, &resp)
		cancel()
		if err != nil {
			return fmt.Errorf("etcd status of %s: %w", ep, err)
		}
		// StatusResponse{header=1{member_id=2}, leader=4}
		hdr, err := field(resp.b, 1)
		if err != nil {
			return err
		}
		member, err := varintField(hdr, 2)
		if err != nil {
			return err
		}
		leader, err := varintField(resp.b, 4)
		if err != nil {
			return err
		}
		if member != 0 && member == leader {
			c.endpoints[0], c.endpoints[i] = c.endpoints[i], c.endpoints[0]
			return nil
		}
	}
	return errors.New("etcd: no member reports itself as leader")
}

// etcdSystem drives etcd's KV API: Put of fresh keys, linearizable Range.
type etcdSystem struct {
	*etcdClients
	value []byte
	run   string
}

func (s *etcdSystem) key(i int) []byte { return fmt.Appendf(nil, "/pacific-bench/%s/k%08d", s.run, i) }

func (s *etcdSystem) put(ctx context.Context, client, i int) error {
	_, err := s.etcdClients.put(ctx, client, s.key(i), s.value)
	return err
}

func (s *etcdSystem) get(ctx context.Context, client, i int) error {
	v, err := s.etcdClients.get(ctx, client, s.key(i))
	if err != nil {
		return err
	}
	if len(v) != len(s.value) {
		return fmt.Errorf("get %s: %d bytes, want %d", s.key(i), len(v), len(s.value))
	}
	return nil
}
