//! The private servers work as fault tests need: each starts on its own port, stops (its port
//! closes), starts again on the same port, keeps (PostgreSQL) or loses (Redis) its data as
//! documented, and is gone with its directory once dropped. Slow (real servers boot): these
//! run in the `private-servers` nextest group.

use std::process::Command;
use std::time::Duration;

use cogman_testkit::servers::{PrivatePostgres, PrivateRabbit, PrivateRedis};
use cogman_testkit::wait_until;

const WAIT: Duration = Duration::from_secs(20);

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn cli(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn closed(port: u16) {
    wait_until(
        "the port to close",
        WAIT,
        || async move { !listening(port) },
    )
    .await
    .expect("port closes");
}

#[tokio::test]
async fn a_private_redis_restarts_empty_on_the_same_port() {
    let redis = PrivateRedis::start().await.expect("private redis starts");
    assert_ne!(redis.port(), 6379, "never the shared server");
    let uri = redis.uri();
    assert_eq!(
        cli("redis-cli", &["-u", &uri, "SET", "k", "v"]).as_deref(),
        Ok("OK")
    );
    redis.stop().await;
    closed(redis.port()).await;
    redis.start_again().await.expect("starts again");
    assert_eq!(
        cli("redis-cli", &["-u", &uri, "EXISTS", "k"]).as_deref(),
        Ok("0"),
        "nothing survives a kill"
    );
    let port = redis.port();
    drop(redis);
    closed(port).await;
}

#[tokio::test]
async fn a_private_postgres_recovers_committed_rows_after_an_immediate_stop() {
    let pg = PrivatePostgres::start()
        .await
        .expect("private postgres starts");
    assert_ne!(pg.port(), 5432, "never the shared server");
    let uri = pg.uri();
    let psql = |sql: &str| cli("psql", &[&uri, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]);
    psql("CREATE TABLE t (x int); INSERT INTO t VALUES (42)").expect("write");
    pg.stop().await.expect("immediate stop");
    assert!(psql("SELECT 1").is_err(), "down after stop");
    pg.start_again().await.expect("starts again");
    assert_eq!(
        psql("SELECT x FROM t").as_deref(),
        Ok("42"),
        "committed rows survive a crash"
    );
    let port = pg.port();
    drop(pg);
    closed(port).await;
}

#[tokio::test]
async fn a_private_rabbit_stops_and_starts_its_app_and_is_removed_on_drop() {
    let node = PrivateRabbit::start().await.expect("private rabbit boots");
    assert_ne!(node.port(), 5672, "never the shared broker");
    assert!(node.uri().contains(&node.port().to_string()));
    node.stop_app().await.expect("stop_app");
    closed(node.port()).await;
    node.start_app().await.expect("start_app");
    assert!(listening(node.port()), "serves again");
    node.close_all_connections()
        .await
        .expect("close_all_connections");
    let (port, name) = (node.port(), node.name().to_owned());
    drop(node);
    closed(port).await;
    assert!(
        cli("rabbitmqctl", &["-n", &name, "status"]).is_err(),
        "the node is gone"
    );
}
