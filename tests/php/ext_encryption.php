<?php
// Encryption at rest (phpsess.encryption, tests/tests/ext/encryption.rs). Modes:
// - `write ID NAME VALUE`: start session ID, set $_SESSION[NAME] = VALUE, close; reports what was
//   there before.
// - `read ID...`: start and close each session unchanged; reports each one's contents and whether
//   it started.
// - `info`: phpinfo()'s module section and phpsess_info(), for the Rust side to search for keys.
declare(strict_types=1);
require __DIR__ . '/ext_lib.php';

$args = args();
$mode = array_shift($args);

switch ($mode) {
    case 'write':
        [$id, $name, $value] = $args;
        session_id($id);
        $ok = session_start();
        $before = $_SESSION;
        $_SESSION[$name] = $value;
        $closed = session_write_close();
        report(['ok' => $ok, 'before' => $before, 'closed' => $closed]);
        break;

    case 'read':
        $sessions = [];
        foreach ($args as $id) {
            session_id($id);
            $ok = session_start();
            $sessions[] = ['ok' => $ok, 'session' => $_SESSION ?? null, 'closed' => $ok ? session_write_close() : null];
        }
        report(['sessions' => $sessions]);
        break;

    case 'info':
        ob_start();
        phpinfo(INFO_MODULES);
        $phpinfo = ob_get_clean();
        report(['phpinfo' => $phpinfo, 'info' => phpsess_info()]);
        break;

    default:
        throw new LogicException("unknown mode $mode");
}
