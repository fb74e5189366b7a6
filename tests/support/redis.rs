//! A `redis-server` of a test's own (Debian's package; `.ci/run` installs it), shared by the
//! library's and the CLI's tests. Where it is not installed, a test that needs it says so and
//! passes, outside CI only.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A `redis-server` of this test's own on a free loopback port, stopped when dropped.
pub struct Redis {
    /// The server process, killed when this is dropped.
    pub child: Child,
    /// `redis://127.0.0.1:<port>/`.
    pub url: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long a started `redis-server` may take to answer: generous, since CI runs this beside
/// the rest of the suite on two cores (it usually answers in about 15 ms).
pub const REDIS_START: Duration = Duration::from_secs(30);

/// Starts a `redis-server` on a loopback port nobody held a moment ago. The port is free when
/// chosen but may be taken before the server binds it (another test binds port 0 too): a server
/// that exits saying so is started again on another port. Ready means it answered `PING` with
/// `+PONG`, not merely that something accepted a connection on the port.
pub fn redis() -> Option<Redis> {
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!(
            "omni-dbt-store-test-redis-{}-{port}.log",
            std::process::id()
        ));
        let child = match Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--logfile", log.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "redis-server is required in CI: {e}"
                );
                eprintln!("skipped: redis-server is not installed ({e})");
                return None;
            }
        };
        let mut redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        let deadline = std::time::Instant::now() + REDIS_START;
        let exited = loop {
            if answers_ping(port) {
                let _ = std::fs::remove_file(&log);
                return Some(redis);
            }
            if let Ok(Some(status)) = redis.child.try_wait() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not answer PING on port {port} within {REDIS_START:?}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        assert!(
            said.contains("Address already in use"),
            "redis-server exited ({exited}) on port {port}; its log:\n{said}"
        );
        eprintln!("port {port} was taken before redis-server bound it; trying another");
    }
    panic!("redis-server found every one of 5 free ports taken before it bound it");
}

/// Whether a Redis server answers `PING` on the loopback port, within a second.
pub fn answers_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(
        &(std::net::Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}
