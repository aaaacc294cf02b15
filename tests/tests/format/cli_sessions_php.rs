//! `phpsess decode`/`encode` between PHP's session encodings, checked by real PHP: a session PHP
//! wrote, converted by the command, must read back in PHP as the same `$_SESSION`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use phpsess_compat::cli::phpsess_with_input;
use phpsess_compat::php::run_php;

/// `phpsess ARGS…` with `stdin`; its stdout, after checking it succeeded without a word on stderr.
fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = phpsess_with_input(args, stdin);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "phpsess {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Run `php -n` with session settings and `code`, feeding `stdin`; return stdout.
fn php(extra_ini: &[&str], code: &str, stdin: &[u8]) -> Vec<u8> {
    let mut args = vec!["-d", "display_errors=stderr", "-d", "session.use_cookies=0"];
    for ini in extra_ini {
        args.extend(["-d", ini]);
    }
    args.extend(["-r", code]);
    run_php(&args, stdin)
}

#[test]
fn converted_sessions_read_back_in_php() {
    // PHP writes a session in `php` format; we convert it to the other two; PHP reads those and
    // must see the same $_SESSION (compared as serialize($_SESSION), references included).
    let written = php(
        &[],
        r#"session_start();
        class User { public $name = "ann"; protected $role = "admin"; private $pw = "x"; }
        $o = new User; $x = 5;
        $_SESSION = ["user" => $o, "again" => $o, "n" => &$x, "m" => &$x, "f" => [1.5, -0.0, "caf\xe9"]];
        echo base64_encode(session_encode()), "\n", base64_encode(serialize($_SESSION));"#,
        b"",
    );
    let written = String::from_utf8(written).unwrap();
    let (stored, serialized) = written.split_once('\n').unwrap();
    let (stored, serialized) = (
        BASE64.decode(stored).unwrap(),
        BASE64.decode(serialized).unwrap(),
    );
    let doc = ok(&["decode", "--lossless"], &stored);
    assert!(String::from_utf8_lossy(&doc).contains(r#""$session": "php""#));
    for format in ["php_serialize", "php_binary"] {
        let bytes = ok(&["encode", "--format", format], &doc);
        let read = php(
            &[&format!("session.serialize_handler={format}")],
            r#"session_start();
            if (!session_decode(stream_get_contents(STDIN))) { fwrite(STDERR, "decode failed"); }
            echo serialize($_SESSION);"#,
            &bytes,
        );
        assert!(
            read == serialized,
            "PHP read our {format} as {:?}",
            String::from_utf8_lossy(&read)
        );
    }
}
