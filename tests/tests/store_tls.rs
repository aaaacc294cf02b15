//! The store over TLS (rustls) to a real redis-server with a certificate made here by openssl:
//! the phpredis `tls://` form with `stream[cafile]`, and `stream[verify_peer]=0`.

use std::path::Path;
use std::process::Command;

use phpsess::store::{LockOptions, SessionStore, StoreOptions, Topology};
use phpsess_compat::servers::{ports, RedisServer};

/// A CA and a server certificate for `localhost` / 127.0.0.1, written into `dir`.
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=phpsess test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        "-out",
        "server.pem",
    ]);
}

#[test]
fn sessions_over_tls_with_a_ca_file_and_with_verification_off() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let file = |f: &str| certs.path().join(f).display().to_string();
    let tls_port = ports::free_port();
    let server = RedisServer::builder()
        .arg("tls-port", tls_port.to_string())
        .arg("tls-cert-file", file("server.pem"))
        .arg("tls-key-file", file("server.key"))
        .arg("tls-ca-cert-file", file("ca.pem"))
        .arg("tls-auth-clients", "no")
        .start();
    let unlocked = StoreOptions {
        lock: LockOptions::disabled(),
        ..StoreOptions::default()
    };
    let id = "tls00000000000000000000";

    let verified = format!(
        "tls://localhost:{tls_port}?stream[cafile]={}",
        file("ca.pem")
    );
    let mut store = SessionStore::new(
        Topology::from_save_path(&verified).unwrap(),
        unlocked.clone(),
    );
    store.write(id, b"secure|b:1;").unwrap();
    assert_eq!(
        store.read(id).unwrap().data.as_deref(),
        Some(&b"secure|b:1;"[..])
    );

    let unverified =
        format!("tls://127.0.0.1:{tls_port}?stream[verify_peer]=0&stream[verify_peer_name]=0");
    let mut store = SessionStore::new(
        Topology::from_save_path(&unverified).unwrap(),
        unlocked.clone(),
    );
    assert_eq!(
        store.read(id).unwrap().data.as_deref(),
        Some(&b"secure|b:1;"[..])
    );

    // Without the CA the certificate is not trusted: an error naming the host and the reason (the
    // TLS handshake runs with the first command), nothing read.
    let untrusted = format!("tls://localhost:{tls_port}");
    let mut store = SessionStore::new(Topology::from_save_path(&untrusted).unwrap(), unlocked);
    let err = store.read(id).unwrap_err().to_string();
    assert!(
        err.contains(&format!("tls://localhost:{tls_port}")),
        "{err}"
    );
    assert!(
        err.contains("invalid peer certificate: UnknownIssuer"),
        "{err}"
    );
    drop(server);
}
