package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// Defaults for Config.
const (
	DefaultHeartbeatTimeout  = 500 * time.Millisecond
	DefaultSnapshotThreshold = 8192
	// logCacheEntries is how many recent log entries are kept in memory.
	logCacheEntries          = 4096
	DefaultTrailingLogs      = 10240
	DefaultSnapshotInterval  = 30 * time.Second
	DefaultLeaderWaitTimeout = 10 * time.Second
	// snapshotsRetained is how many snapshots the FileSnapshotStore keeps.
	snapshotsRetained = 2
	// maxAppendEntries bounds a replication batch (and, with BatchApplyCh,
	// how many concurrent writes are batched into one log append).
	maxAppendEntries = 256
)

// Store is one replica of the replicated store.
type Store struct {
	cfg        Config
	log        *slog.Logger
	hb         time.Duration
	leaderWait time.Duration

	raft     *raft.Raft
	trans    *raft.NetworkTransport
	wal      *wal.WAL
	walMeta  *metadb.BoltMetaDB
	fsm      *fsm
	win      *window
	lists    *listCache
	peers    *peerConns
	reads    *verifier
	observer *raft.Observer
	// changes fires when the leader or this replica's readiness changes.
	changes *broadcast

	lmu       sync.Mutex
	epoch     uint64 // bumped on every leadership notification
	ready     bool   // leader, with an entry of readyTerm applied
	readyTerm uint64
	subs      map[chan bool]struct{} // nil once closed

	bgCtx     context.Context
	bgCancel  context.CancelFunc
	wg        sync.WaitGroup
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Open starts a replica: it opens (or creates) the WAL and snapshots under
// cfg.DataDir, restores the latest snapshot, starts Raft and, with
// cfg.Bootstrap on an empty data dir, bootstraps the cluster. It returns
// once Raft runs; use WaitLeader to wait for a leader.
func Open(ctx context.Context, cfg Config) (_ *Store, err error) {
	if cfg.ID == "" || cfg.DataDir == "" {
		return nil, errors.New("store: Config needs an ID and a DataDir")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Store{
		cfg:        cfg,
		log:        cfg.Logger,
		hb:         cfg.HeartbeatTimeout,
		leaderWait: cfg.LeaderWaitTimeout,
		changes:    newBroadcast(),
		subs:       map[chan bool]struct{}{},
		closed:     make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("replica", cfg.ID)
	if s.hb <= 0 {
		s.hb = DefaultHeartbeatTimeout
	}
	if s.leaderWait <= 0 {
		s.leaderWait = DefaultLeaderWaitTimeout
	}
	hlog := newHCLogAdapter(s.log, cfg.RaftLogLevel)

	var cleanup []func() error
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				_ = cleanup[i]()
			}
		}
	}()

	raftDir := filepath.Join(cfg.DataDir, "raft")
	walDir := filepath.Join(raftDir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data dir: %w", err)
	}
	segment := cfg.WALSegmentBytes
	if segment <= 0 {
		segment = wal.DefaultSegmentSize
	}
	// raft-wal v0.4.0's Close leaves its meta DB (bbolt, file-locked) open,
	// so a reopen in the same process would block: own it and close it.
	s.walMeta = &metadb.BoltMetaDB{}
	cleanup = append(cleanup, s.walMeta.Close)
	s.wal, err = wal.Open(walDir, wal.WithLogger(hlog.Named("wal")), wal.WithSegmentSize(segment),
		wal.WithMetaStore(s.walMeta))
	if err != nil {
		return nil, fmt.Errorf("store: open WAL %s: %w", walDir, err)
	}
	cleanup = append(cleanup, s.wal.Close)

	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, snapshotsRetained, hlog.Named("snapshots"))
	if err != nil {
		return nil, fmt.Errorf("store: snapshot store: %w", err)
	}

	stream, err := newStreamLayer(cfg)
	if err != nil {
		return nil, err
	}
	s.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  hlog.Named("raft-net"),
	})
	cleanup = append(cleanup, s.trans.Close)

	s.win = newWindow(cfg.EventWindow, cfg.WatchBuffer)
	s.fsm = newFSM(s.win)
	s.lists = newListCache(cfg.ListSnapshots, cfg.ListSnapshotTTL)
	s.peers = newPeerConns(cfg.DialOptions)
	cleanup = append(cleanup, s.peers.close)

	notify := make(chan bool, 16)
	rc := s.raftConfig(notify, hlog)

	hasState, err := raft.HasExistingState(s.wal, s.wal, snaps)
	if err != nil {
		return nil, fmt.Errorf("store: inspect state: %w", err)
	}
	// Followers and the leader's replication read recent entries back;
	// serving them from memory saves a WAL read per entry (~8% CPU at load).
	logs, err := raft.NewLogCache(logCacheEntries, s.wal)
	if err != nil {
		return nil, fmt.Errorf("store: log cache: %w", err)
	}
	s.raft, err = raft.NewRaft(rc, s.fsm, logs, s.wal, snaps, s.trans)
	if err != nil {
		return nil, fmt.Errorf("store: start raft: %w", err)
	}
	cleanup = append(cleanup, func() error { return s.raft.Shutdown().Error() })
	s.reads = &verifier{r: s.raft}

	if cfg.Bootstrap && !hasState {
		conf, err := s.bootstrapConfiguration()
		if err != nil {
			return nil, err
		}
		if err := s.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("store: bootstrap: %w", err)
		}
	}

	obs := make(chan raft.Observation, 64)
	s.observer = raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, isLeader := o.Data.(raft.LeaderObservation)
		return isLeader
	})
	s.raft.RegisterObserver(s.observer)

	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	s.wg.Add(3)
	go s.runLeadership(notify)
	go s.runObserver(obs)
	go s.runSelfRegister()
	s.log.Debug("store opened", "raft", s.RaftAddr(), "api", cfg.APIAddr, "revision", s.Revision())
	return s, nil
}

func (s *Store) raftConfig(notify chan bool, hlog *hclogAdapter) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.ID)
	rc.HeartbeatTimeout = s.hb
	rc.ElectionTimeout = s.hb
	// Reads never rely on the lease (every read confirms leadership), so a
	// long lease only delays how soon a cut-off leader steps down; a short
	// one makes a leader step down on every scheduling hiccup.
	rc.LeaderLeaseTimeout = s.hb
	rc.CommitTimeout = max(s.hb/25, time.Millisecond)
	rc.MaxAppendEntries = maxAppendEntries
	rc.BatchApplyCh = true
	rc.ShutdownOnRemove = false
	rc.SnapshotThreshold = s.cfg.SnapshotThreshold
	if rc.SnapshotThreshold == 0 {
		rc.SnapshotThreshold = DefaultSnapshotThreshold
	}
	rc.TrailingLogs = s.cfg.TrailingLogs
	if rc.TrailingLogs == 0 {
		rc.TrailingLogs = DefaultTrailingLogs
	}
	rc.SnapshotInterval = s.cfg.SnapshotInterval
	if rc.SnapshotInterval <= 0 {
		rc.SnapshotInterval = DefaultSnapshotInterval
	}
	rc.NotifyCh = notify
	rc.Logger = hlog.Named("raft")
	rc.NoLegacyTelemetry = true
	return rc
}

// bootstrapConfiguration is Config.Peers, or just this replica.
func (s *Store) bootstrapConfiguration() (raft.Configuration, error) {
	if len(s.cfg.Peers) == 0 {
		return raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: raft.ServerID(s.cfg.ID), Address: s.trans.LocalAddr(),
		}}}, nil
	}
	var conf raft.Configuration
	self := false
	for _, p := range s.cfg.Peers {
		if p.ID == "" || p.RaftAddr == "" {
			return conf, fmt.Errorf("store: peer %+v needs an ID and a Raft address", p)
		}
		self = self || p.ID == s.cfg.ID
		conf.Servers = append(conf.Servers, raft.Server{
			Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr),
		})
	}
	if !self {
		return conf, fmt.Errorf("store: Peers do not include this replica %q", s.cfg.ID)
	}
	return conf, nil
}

// Close stops Raft, closes the transport, the WAL and peer connections,
// and ends watches and leadership subscriptions with ErrClosed. Calls in
// flight fail with ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.bgCancel()
		s.raft.DeregisterObserver(s.observer)
		errs := []error{s.raft.Shutdown().Error()}
		close(s.closed)
		s.wg.Wait()
		s.win.close()
		s.lmu.Lock()
		for ch := range s.subs {
			close(ch)
		}
		s.subs = nil
		s.ready = false
		s.lmu.Unlock()
		errs = append(errs, s.trans.Close(), s.wal.Close(), s.walMeta.Close(), s.peers.close())
		s.closeErr = errors.Join(errs...)
		s.log.Debug("store closed")
	})
	return s.closeErr
}

// RaftAddr is the address the Raft transport advertises.
func (s *Store) RaftAddr() string { return string(s.trans.LocalAddr()) }

// ID is this replica's ID.
func (s *Store) ID() string { return s.cfg.ID }

// tcpStream is raft's StreamLayer over a TCP listener, TLS when
// configured.
type tcpStream struct {
	net.Listener
	advertise net.Addr
	clientTLS *tls.Config
}

func newStreamLayer(cfg Config) (*tcpStream, error) {
	l := cfg.RaftListener
	if l == nil {
		addr := cfg.RaftAddr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		var err error
		if l, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("store: listen for raft on %s: %w", addr, err)
		}
	}
	adv := l.Addr()
	if cfg.RaftAdvertiseAddr != "" {
		a, err := net.ResolveTCPAddr("tcp", cfg.RaftAdvertiseAddr)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("store: raft advertise address: %w", err)
		}
		adv = a
	}
	if ta, ok := adv.(*net.TCPAddr); !ok || ta.IP == nil || ta.IP.IsUnspecified() {
		l.Close()
		return nil, fmt.Errorf("store: raft address %s cannot be advertised; set RaftAdvertiseAddr", adv)
	}
	if (cfg.RaftServerTLS == nil) != (cfg.RaftClientTLS == nil) {
		l.Close()
		return nil, errors.New("store: set both RaftServerTLS and RaftClientTLS, or neither")
	}
	if cfg.RaftServerTLS != nil {
		l = tls.NewListener(l, cfg.RaftServerTLS)
	}
	return &tcpStream{Listener: l, advertise: adv, clientTLS: cfg.RaftClientTLS}, nil
}

func (t *tcpStream) Addr() net.Addr { return t.advertise }

func (t *tcpStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if t.clientTLS == nil {
		return net.DialTimeout("tcp", string(address), timeout)
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: t.clientTLS}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Handshake now, so a peer with a bad certificate fails the dial
	// instead of a later read.
	return d.DialContext(ctx, "tcp", string(address))
}
