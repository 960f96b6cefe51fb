//! A throw-away Redis Cluster on loopback: three masters and three replicas, each a
//! `redis-server --cluster-enabled yes` on a free port, joined by `redis-cli --cluster create`;
//! a master can be killed and its replica promoted; everything is stopped on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the cluster may take to form, or to fail over.
const SETTLE: Duration = Duration::from_secs(20);

/// Six `redis-server`s in cluster mode on 127.0.0.1 (three masters, each with one replica, so a
/// master can fail over), with no persistence and one temporary directory; killed, and the
/// directory removed, when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
}

#[derive(Debug)]
struct Node {
    port: u16,
    /// `None` once killed by a failover.
    child: Option<Child>,
}

/// One line of `CLUSTER NODES`.
#[derive(Debug)]
struct NodeLine {
    id: String,
    port: u16,
    flags: String,
    master: String,
    slots: Vec<(u16, u16)>,
}

impl NodeLine {
    fn is_live_master(&self) -> bool {
        self.flags.split(',').any(|f| f == "master")
            && !self.flags.split(',').any(|f| f == "fail" || f == "fail?")
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }
}

impl RedisCluster {
    /// Starts six nodes, creates the cluster (`--cluster-replicas 1`) and waits until every node
    /// reports `cluster_state:ok` and every replica is in sync with its master. Panics with the
    /// fix when redis-server or redis-cli is not installed.
    pub fn start() -> Self {
        let ports = free_ports(6);
        let dir = std::env::temp_dir().join(format!("tollgate-redis-cluster-{}", ports[0]));
        let mut nodes = Vec::new();
        for &port in &ports {
            let node_dir = dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).unwrap();
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--cluster-enabled", "yes"])
                .arg("--cluster-config-file")
                .arg(node_dir.join("nodes.conf"))
                .args(["--cluster-node-timeout", "1000"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&node_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "redis-server could not start ({e}): run scripts/test.sh, which installs it"
                    )
                });
            nodes.push(Node {
                port,
                child: Some(child),
            });
        }
        let cluster = Self { nodes, dir };
        for &port in &ports {
            wait_until("a cluster node to listen", || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
        }
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("redis-cli could not start ({e}): install redis-tools (scripts/test.sh)")
            });
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.wait_settled();
        cluster
    }

    /// The seed URLs of the live nodes, `redis://127.0.0.1:<port>/`, masters and replicas.
    pub fn seeds(&self) -> Vec<String> {
        self.live_ports()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect()
    }

    /// The hash slot of `key` (`CLUSTER KEYSLOT`).
    pub fn keyslot(&self, key: &str) -> u16 {
        let port = self.any_port();
        cli(port, &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .expect("CLUSTER KEYSLOT answers a number")
    }

    /// The port of the master that serves `key` now.
    pub fn master_of(&self, key: &str) -> u16 {
        let slot = self.keyslot(key);
        self.nodes_view(self.any_port())
            .into_iter()
            .find(|n| n.is_live_master() && n.serves(slot))
            .unwrap_or_else(|| panic!("no master serves slot {slot}"))
            .port
    }

    /// Whether `key` exists (`EXISTS` on the master that serves it).
    pub fn exists(&self, key: &str) -> bool {
        cli(self.master_of(key), &["EXISTS", key]).trim() == "1"
    }

    /// A real failover of the master that holds `key`: waits until its replica has received
    /// every write the master had (replication is asynchronous, and this is the case where
    /// nothing is lost), kills the master (SIGKILL), and waits until the replica is promoted and
    /// every live node reports `cluster_state:ok` again. Returns the new master's port.
    pub fn fail_over_master_of(&mut self, key: &str) -> u16 {
        let master = self.master_of(key);
        let view = self.nodes_view(master);
        let master_id = view
            .iter()
            .find(|n| n.port == master)
            .expect("the master is in its own view")
            .id
            .clone();
        let replica = view
            .iter()
            .find(|n| n.master == master_id && !n.flags.contains("fail"))
            .unwrap_or_else(|| panic!("master {master} has no replica"))
            .port;
        let offset = info_field(master, "master_repl_offset");
        wait_until("the replica to catch up with its master", || {
            info_field(replica, "slave_repl_offset") >= offset
        });

        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port == master)
            .expect("the master is one of ours");
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_until("the replica to be promoted", || {
            self.nodes_view(replica)
                .iter()
                .any(|n| n.port == replica && n.flags.contains("myself") && n.is_live_master())
        });
        self.wait_settled();
        assert_eq!(self.master_of(key), replica, "the replica took the slot");
        replica
    }

    fn live_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.port)
    }

    fn any_port(&self) -> u16 {
        self.live_ports().next().expect("a live node")
    }

    /// Every live node says the cluster is ok and sees every live node's role the same way, and
    /// every live replica is linked to its master.
    fn wait_settled(&self) {
        let live: Vec<u16> = self.live_ports().collect();
        wait_until("cluster_state:ok on every node", || {
            live.iter().all(|&p| {
                cli(p, &["CLUSTER", "INFO"])
                    .lines()
                    .any(|l| l.trim() == "cluster_state:ok")
            })
        });
        wait_until("every live node to agree on the masters", || {
            let views: Vec<Vec<u16>> = live
                .iter()
                .map(|&p| {
                    let mut masters: Vec<u16> = self
                        .nodes_view(p)
                        .iter()
                        .filter(|n| n.is_live_master())
                        .map(|n| n.port)
                        .collect();
                    masters.sort_unstable();
                    masters
                })
                .collect();
            views.windows(2).all(|w| w[0] == w[1]) && views[0].len() == 3
        });
        wait_until("every replica to be in sync with its master", || {
            live.iter().all(|&p| {
                let info = cli(p, &["INFO", "replication"]);
                !info.contains("role:slave") || info.contains("master_link_status:up")
            })
        });
    }

    fn nodes_view(&self, port: u16) -> Vec<NodeLine> {
        cli(port, &["CLUSTER", "NODES"])
            .lines()
            .filter_map(parse_node_line)
            .collect()
    }
}

fn parse_node_line(line: &str) -> Option<NodeLine> {
    let mut parts = line.split_whitespace();
    let id = parts.next()?.to_owned();
    let address = parts.next()?;
    let port = address
        .split(['@', ','])
        .next()?
        .rsplit(':')
        .next()?
        .parse()
        .ok()?;
    let flags = parts.next()?.to_owned();
    let master = parts.next()?.to_owned();
    let slots = parts
        .skip(4)
        .filter(|s| !s.starts_with('['))
        .filter_map(|s| match s.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => s.parse().ok().map(|a| (a, a)),
        })
        .collect();
    Some(NodeLine {
        id,
        port,
        flags,
        master,
        slots,
    })
}

/// `redis-cli -p <port> <args>`'s output (empty when the node does not answer).
fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("redis-cli could not start ({e}): install redis-tools (scripts/test.sh)")
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A numeric field of `INFO replication` on `port` (0 when missing).
fn info_field(port: u16, field: &str) -> u64 {
    cli(port, &["INFO", "replication"])
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(field)?
                .strip_prefix(':')?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE;
    while !ok() {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `n` free loopback ports whose cluster-bus port (port + 10000) is free too.
fn free_ports(n: usize) -> Vec<u16> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let Some(bus) = port.checked_add(10000) else {
            continue;
        };
        if let Ok(b) = std::net::TcpListener::bind(("127.0.0.1", bus)) {
            ports.push(port);
            held.push((l, b));
        }
    }
    ports
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
