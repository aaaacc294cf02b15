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
    let unlocked = StoreOptions::default().with_lock(LockOptions::disabled());
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

/// Runs openssl in `dir`, panicking with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
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
}

/// `NAME.pem`/`NAME.key`: a certificate with `san`, signed by `ca` (`ca.pem`/`ca.key`), or
/// self-signed when `ca` is `None`.
fn make_cert(dir: &Path, name: &str, san: &str, ca: Option<&str>) {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    std::fs::write(
        dir.join(format!("{name}.cnf")),
        format!("subjectAltName={san}\n"),
    )
    .unwrap();
    match ca {
        None => openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                &format!("subjectAltName={san}"),
                // A server certificate, not a CA (openssl's default for -x509), as a self-signed
                // Redis certificate usually is.
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-keyout",
                &key,
                "-out",
                &pem,
            ],
        ),
        Some(ca) => {
            let csr = format!("{name}.csr");
            openssl(
                dir,
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    "/CN=localhost",
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                ],
            );
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    &format!("{name}.cnf"),
                    "-out",
                    &pem,
                ],
            );
        }
    }
}

/// PHP's `ssl` options with PHP's meaning, each against a trusted and a rogue certificate:
/// `verify_peer_name=0` skips only the host name (the chain is still checked: a certificate from
/// an unknown CA or a self-signed one is refused), `verify_peer=0` checks nothing, `capath`
/// trusts a directory of CAs, and `allow_self_signed` / a different `peer_name`, which the TLS
/// backend cannot check as PHP does, are refused with the way out rather than ignored.
#[test]
fn php_ssl_options_keep_their_php_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_certs(d); // ca.pem and server.pem for localhost / 127.0.0.1
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=rogue CA",
            "-keyout",
            "rogue-ca.key",
            "-out",
            "rogue-ca.pem",
        ],
    );
    make_cert(d, "wrong-name", "DNS:wrong.example", Some("ca"));
    make_cert(d, "rogue", "DNS:localhost,IP:127.0.0.1", Some("rogue-ca"));
    make_cert(d, "self", "DNS:localhost,IP:127.0.0.1", None);
    let capath = d.join("capath");
    std::fs::create_dir(&capath).unwrap();
    std::fs::copy(d.join("ca.pem"), capath.join("ca.pem")).unwrap();
    std::fs::write(capath.join("README"), "not a certificate\n").unwrap();

    let file = |f: &str| d.join(f).display().to_string();
    let start = |cert: &str| {
        let port = ports::free_port();
        let server = RedisServer::builder()
            .arg("tls-port", port.to_string())
            .arg("tls-cert-file", file(&format!("{cert}.pem")))
            .arg("tls-key-file", file(&format!("{cert}.key")))
            .arg("tls-ca-cert-file", file("ca.pem"))
            .arg("tls-auth-clients", "no")
            .start();
        (server, port)
    };
    let servers = [
        ("server", start("server")),
        ("wrong-name", start("wrong-name")),
        ("rogue", start("rogue")),
        ("self", start("self")),
    ];
    let port = |name: &str| servers.iter().find(|(n, _)| *n == name).unwrap().1 .1;
    let ca = format!("stream[cafile]={}", file("ca.pem"));
    let self_ca = format!("stream[cafile]={}", file("self.pem"));
    let capath_opt = format!("stream[capath]={}", capath.display());

    // (certificate served, host, options, expected: Ok or a fragment of the error)
    let cases: Vec<(&str, &str, String, Result<(), &str>)> = vec![
        ("server", "localhost", ca.clone(), Ok(())),
        ("server", "127.0.0.1", ca.clone(), Ok(())),
        ("server", "localhost", capath_opt.clone(), Ok(())),
        ("server", "localhost", format!("{ca}&stream[verify_peer_name]=0"), Ok(())),
        ("server", "localhost", format!("{ca}&stream[peer_name]=localhost"), Ok(())),
        // A certificate from our CA for another name.
        ("wrong-name", "localhost", ca.clone(), Err("certificate not valid for name \"localhost\"")),
        ("wrong-name", "localhost", format!("{ca}&stream[verify_peer_name]=0"), Ok(())),
        ("wrong-name", "localhost", format!("{capath_opt}&stream[verify_peer_name]=0"), Ok(())),
        // From a CA nobody trusts: refused even without the name check (the bug: it was accepted).
        ("rogue", "localhost", ca.clone(), Err("UnknownIssuer")),
        ("rogue", "localhost", format!("{ca}&stream[verify_peer_name]=0"), Err("UnknownIssuer")),
        ("rogue", "localhost", "stream[verify_peer_name]=0".into(), Err("UnknownIssuer")),
        ("rogue", "localhost", "stream[verify_peer]=0".into(), Ok(())),
        // Self-signed: refused unless trusted by name as the CA file, or nothing is checked.
        ("self", "localhost", format!("{ca}&stream[verify_peer_name]=0"), Err("UnknownIssuer")),
        ("self", "localhost", self_ca.clone(), Ok(())),
        ("self", "localhost", "stream[verify_peer]=0".into(), Ok(())),
        (
            "self",
            "localhost",
            format!("{ca}&stream[allow_self_signed]=1"),
            Err("stream[allow_self_signed]=1 is not supported: give the self-signed certificate as stream[cafile]"),
        ),
        (
            "server",
            "127.0.0.1",
            format!("{ca}&stream[peer_name]=localhost"),
            Err("stream[peer_name]=localhost differs from the host 127.0.0.1, which is not supported"),
        ),
        ("self", "localhost", "stream[verify_peer]=0&stream[allow_self_signed]=1".into(), Ok(())),
    ];
    let unlocked = StoreOptions::default().with_lock(LockOptions::disabled());
    let id = "tlsopts0000000000000000";
    for (cert, host, options, expected) in cases {
        let save_path = format!("tls://{host}:{}?{options}", port(cert));
        let mut store = SessionStore::new(
            Topology::from_save_path(&save_path).unwrap(),
            unlocked.clone(),
        );
        let got = store.write(id, b"t|b:1;");
        match (expected, got) {
            (Ok(()), Ok(())) => {}
            (Err(fragment), Err(e)) => {
                let e = e.to_string();
                assert!(e.contains(fragment), "{cert} {options}: {e}");
                assert!(e.contains(&format!("tls://{host}:")), "{e}");
            }
            (expected, got) => panic!("{cert} via {save_path}: expected {expected:?}, got {got:?}"),
        }
    }
}
