<?php
// Sessions through the phpsess extension, one scenario per mode (first argument). Each mode
// asserts what PHP itself sees and reports one JSON line; tests/tests/ext/session.rs runs the
// modes against real redis-servers and checks what ended up in Redis.
declare(strict_types=1);
require __DIR__ . '/ext_lib.php';

$args = args();
$mode = array_shift($args);

switch ($mode) {
    case 'new':
        // A new visitor: a fresh id, $_SESSION['user'] = ARG, written.
        assert(session_start() === true);
        $id = session_id();
        assert(strlen($id) === 32, "PHP's default sid_length: $id");
        $_SESSION['user'] = $args[0];
        assert(session_write_close() === true);
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report(['id' => $id]);
        break;

    case 'read':
        // ID: open the session, change nothing (lazy write: update_timestamp), report it.
        session_id($args[0]);
        $ok = session_start();
        $data = $_SESSION ?? null;
        $id = session_id();
        $closed = $ok ? session_write_close() : null;
        report(['ok' => $ok, 'id' => $id, 'session' => $data, 'closed' => $closed]);
        break;

    case 'set':
        // ID KEY VALUE: set one session variable and write.
        session_id($args[0]);
        assert(session_start() === true);
        $_SESSION[$args[1]] = $args[2];
        assert(session_write_close() === true);
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report(['session' => $_SESSION]);
        break;

    case 'destroy':
        // ID: session_destroy().
        session_id($args[0]);
        assert(session_start() === true);
        assert(isset($_SESSION['user']));
        assert(session_destroy() === true);
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report();
        break;

    case 'regenerate':
        // ID: session_regenerate_id(true) keeps the data under a new id.
        session_id($args[0]);
        assert(session_start() === true);
        $before = $_SESSION;
        assert(session_regenerate_id(true) === true);
        $new = session_id();
        assert($new !== $args[0] && strlen($new) === 32);
        assert($_SESSION === $before);
        $_SESSION['regenerated'] = 'yes';
        assert(session_write_close() === true);
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report(['new' => $new]);
        break;

    case 'hold':
        // ID MARKER MS VALUE: take the session (and its lock), create MARKER, keep the session
        // MS milliseconds, then write user = VALUE.
        session_id($args[0]);
        assert(session_start() === true);
        file_put_contents($args[1], 'locked');
        usleep((int) $args[2] * 1000);
        $_SESSION['user'] = $args[3];
        assert(session_write_close() === true);
        report();
        break;

    case 'wait':
        // ID: how long session_start() takes and what it reads.
        session_id($args[0]);
        $t = hrtime(true);
        $ok = session_start();
        $ms = ms_since($t);
        $data = $_SESSION ?? null;
        if ($ok) {
            assert(session_write_close() === true);
        }
        $info = phpsess_info();
        report(['ok' => $ok, 'ms' => $ms, 'session' => $data, 'info' => $info]);
        break;

    case 'start':
        // Start a new session and time it; the script must go on whatever happens.
        $t = hrtime(true);
        $ok = session_start();
        $ms = ms_since($t);
        $status = session_status();
        report(['ok' => $ok, 'ms' => $ms, 'active' => $status === PHP_SESSION_ACTIVE, 'continued' => true]);
        break;

    case 'swallow':
        // ID VALUE: a SessionHandler subclass (as frameworks write them) that hides a failed read
        // and goes on; its write of user = VALUE must still be refused by the extension.
        $handler = new class extends SessionHandler {
            public array $calls = [];

            public function read(string $id): string|false
            {
                $data = parent::read($id);
                $this->calls[] = 'read:' . ($data === false ? 'failed' : 'ok');
                return $data === false ? '' : $data;
            }

            public function write(string $id, string $data): bool
            {
                $ok = parent::write($id, $data);
                $this->calls[] = 'write:' . ($ok ? 'ok' : 'refused');
                return $ok;
            }
        };
        session_set_save_handler($handler, false);
        session_id($args[0]);
        $ok = session_start();
        $_SESSION['user'] = $args[1];
        $closed = session_write_close();
        report(['ok' => $ok, 'closed' => $closed, 'calls' => $handler->calls]);
        break;

    case 'create_id_active':
        // ID: the example on PHP's manual page for session_create_id() (and bug79413.phpt): inside
        // the active, locked session make a new id, note it in the old session, commit, then
        // start the new id.
        session_id($args[0]);
        assert(session_start() === true);
        $new = session_create_id('myprefix-');
        assert(is_string($new) && str_starts_with($new, 'myprefix-'), var_export($new, true));
        $_SESSION['new_session_id'] = $new;
        $_SESSION['destroyed'] = 1;
        assert(session_commit() === true);
        ini_set('session.use_strict_mode', '0');
        session_id($new);
        assert(session_start() === true);
        assert($_SESSION === [], 'the new id starts empty');
        $_SESSION['moved'] = 'yes';
        assert(session_write_close() === true);
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report(['new' => $new]);
        break;

    case 'reset':
        // ID: session_reset() twice inside a locked session (PHP reopens the handler without a
        // close): the request keeps its state and its lock, and reads the stored data again.
        session_id($args[0]);
        assert(session_start() === true);
        $_SESSION['changed'] = 'discarded';
        $before = phpsess_info();
        assert(session_reset() === true);
        assert(session_reset() === true);
        $after = phpsess_info();
        assert(!isset($_SESSION['changed']), 'session_reset() restores the stored data');
        $_SESSION['after_reset'] = 'kept';
        assert(session_write_close() === true);
        $closed = phpsess_info();
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report(['before' => $before, 'after' => $after, 'closed' => $closed]);
        break;

    case 'read_other':
        // ID OTHER: PHP's bug70133.phpt: a SessionHandler subclass whose read() reads OTHER; the
        // session is then written under ID, which this request never locked.
        $handler = new class ($args[1]) extends SessionHandler {
            public function __construct(private string $other)
            {
            }

            public function read(string $id): string|false
            {
                return parent::read($this->other);
            }
        };
        session_set_save_handler($handler, false);
        session_id($args[0]);
        $ok = session_start();
        $_SESSION['via'] = 'other';
        $closed = session_write_close();
        report(['ok' => $ok, 'closed' => $closed, 'session' => $_SESSION]);
        break;

    case 'hostile':
        // ID STRICT: session_start() with an id as a cookie could give it (PHP itself only drops
        // ids with \r\n\t <>'"\\), with session.use_strict_mode = STRICT.
        ini_set('session.use_strict_mode', $args[1]);
        session_id($args[0]);
        $ok = session_start();
        $data = $_SESSION ?? null;
        $id = session_id();
        if ($ok) {
            $_SESSION['fresh'] = 1;
            assert(session_write_close() === true);
        }
        report(['ok' => $ok, 'id' => $id, 'session' => $data]);
        break;

    case 'info':
        // phpinfo()'s phpsess section after one session (write of user = ARG).
        assert(session_start() === true);
        $_SESSION['user'] = $args[0];
        assert(session_write_close() === true);
        report(['info' => phpsess_info()]);
        break;

    default:
        throw new LogicException("unknown mode $mode");
}
