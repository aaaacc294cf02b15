<?php
// phpredis's own session test scenarios (its tests/RedisTest.php testSession_*), written anew for
// phpsess and its INI names, plus session_create_id() while locked, session_reset() and
// session_abort() followed by a new start, and a SessionHandler whose read() reads another id.
// One scenario step per mode (first argument); INI settings come from the command line. Each mode
// asserts what PHP sees and reports one JSON line; tests/tests/ext/phpredis_scenarios.rs runs them
// against a real redis-server and checks what Redis holds.
declare(strict_types=1);
require __DIR__ . '/ext_lib.php';

$args = args();
$mode = array_shift($args);

/** `-` stands for "none" in the arguments. */
function arg(array $args, int $i): ?string
{
    return ($args[$i] ?? '-') === '-' ? null : $args[$i];
}

/** Creates DIR/NAME, then waits until the test creates DIR/NAME.go (it checks Redis meanwhile). */
function handshake(string $dir, string $name): void
{
    file_put_contents("$dir/$name", (string) getmypid());
    $until = hrtime(true) + 20e9;
    while (!file_exists("$dir/$name.go")) {
        assert(hrtime(true) < $until, "the test never answered $name");
        usleep(5000);
    }
}

/** phpredis's regenerate test wraps the default handler in a SessionHandlerInterface proxy. */
final class ProxyHandler implements SessionHandlerInterface
{
    private SessionHandler $inner;

    public function __construct()
    {
        $this->inner = new SessionHandler();
    }

    public function open(string $path, string $name): bool
    {
        return $this->inner->open($path, $name);
    }

    public function close(): bool
    {
        return $this->inner->close();
    }

    public function read(string $id): string|false
    {
        return $this->inner->read($id);
    }

    public function write(string $id, string $data): bool
    {
        return $this->inner->write($id, $data);
    }

    public function destroy(string $id): bool
    {
        return $this->inner->destroy($id);
    }

    public function gc(int $max_lifetime): int|false
    {
        return $this->inner->gc($max_lifetime);
    }
}

switch ($mode) {
    case 'run':
        // ID|- SLEEP_MS DATA|- [MARKER]: phpredis's startSession.php. Start the session (a new id
        // for -), create MARKER once started, sleep, set redis_test = DATA, write and close.
        // Whether start and close succeed is for the test to judge: some scenarios expect failures.
        [$id, $sleep, $data, $marker] = [arg($args, 0), (int) $args[1], arg($args, 2), arg($args, 3)];
        if ($id !== null) {
            session_id($id);
        }
        $t = hrtime(true);
        $ok = session_start();
        $start_ms = ms_since($t);
        $id = session_id();
        if ($marker !== null) {
            file_put_contents($marker, $id);
        }
        usleep($sleep * 1000);
        if ($data !== null) {
            $_SESSION['redis_test'] = $data;
        }
        $closed = $ok ? session_write_close() : null;
        report(['ok' => $ok, 'id' => $id, 'start_ms' => $start_ms, 'closed' => $closed]);
        break;

    case 'get':
        // ID: phpredis's getSessionData.php: what redis_test holds.
        session_id($args[0]);
        assert(session_start() === true, implode("\n", Seen::$messages));
        $data = $_SESSION['redis_test'] ?? null;
        assert(session_write_close() === true, implode("\n", Seen::$messages));
        report(['data' => $data]);
        break;

    case 'regenerate':
        // ID DESTROY(0|1) PROXY(0|1): phpredis's regenerateSessionId.php.
        [$id, $destroy, $proxy] = [$args[0], $args[1] === '1', $args[2] === '1'];
        if ($proxy) {
            assert(session_set_save_handler(new ProxyHandler()) === true);
        }
        session_id($id);
        assert(session_start() === true, implode("\n", Seen::$messages));
        $before = $_SESSION;
        assert(session_regenerate_id($destroy) === true, implode("\n", Seen::$messages));
        $new = session_id();
        assert($new !== $id && strlen($new) === 32, $new);
        assert($_SESSION === $before);
        assert(session_write_close() === true, implode("\n", Seen::$messages));
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report(['new' => $new]);
        break;

    case 'create_id_active':
        // ID: PHP's bug79413.phpt with data: session_create_id() during an active session gives a
        // new id, and the session (still the old id) is written and closed as usual.
        session_id($args[0]);
        assert(session_start() === true, implode("\n", Seen::$messages));
        $_SESSION['redis_test'] = 'kept';
        $new = session_create_id();
        assert(is_string($new) && $new !== $args[0], var_export($new, true));
        assert(session_id() === $args[0]);
        assert(session_write_close() === true, implode("\n", Seen::$messages));
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report(['new' => $new]);
        break;

    case 'create_id_manual':
        // ID: the pattern on PHP's manual page for session_create_id(): a new id made while the
        // session is active, the old session marked deleted and committed, then the new id started.
        session_id($args[0]);
        assert(session_start() === true, implode("\n", Seen::$messages));
        $data = $_SESSION['redis_test'] ?? null;
        $new = session_create_id('myprefix-');
        assert(is_string($new) && str_starts_with($new, 'myprefix-'), var_export($new, true));
        $_SESSION['deleted_time'] = time();
        assert(session_commit() === true, implode("\n", Seen::$messages));
        ini_set('session.use_strict_mode', '0');
        session_id($new);
        assert(session_start() === true, implode("\n", Seen::$messages));
        assert(session_id() === $new);
        $_SESSION['redis_test'] = $data;
        assert(session_write_close() === true, implode("\n", Seen::$messages));
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report(['new' => $new]);
        break;

    case 'reset':
        // ID DIR: change the session, session_reset() (back to what is stored), handshake "reset"
        // (the lock must still be this request's), write; then a new start of the same id.
        [$id, $dir] = $args;
        session_id($id);
        assert(session_start() === true, implode("\n", Seen::$messages));
        $stored = $_SESSION;
        handshake($dir, 'started');
        $_SESSION['redis_test'] = 'changed, then reset';
        assert(session_reset() === true, implode("\n", Seen::$messages));
        assert($_SESSION === $stored, json_encode($_SESSION));
        assert(session_status() === PHP_SESSION_ACTIVE);
        handshake($dir, 'reset');
        $_SESSION['after_reset'] = 'yes';
        assert(session_write_close() === true, implode("\n", Seen::$messages));
        session_id($id);
        assert(session_start() === true, implode("\n", Seen::$messages));
        assert($_SESSION['after_reset'] === 'yes');
        $_SESSION['second_start'] = 'yes';
        assert(session_write_close() === true, implode("\n", Seen::$messages));
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report();
        break;

    case 'abort':
        // ID DIR: change the session, session_abort() (nothing written, lock released), handshake
        // "aborted", then a new start of the same id reads what is stored.
        [$id, $dir] = $args;
        session_id($id);
        assert(session_start() === true, implode("\n", Seen::$messages));
        $stored = $_SESSION;
        $_SESSION['redis_test'] = 'aborted change';
        assert(session_abort() === true, implode("\n", Seen::$messages));
        assert(session_status() === PHP_SESSION_NONE);
        handshake($dir, 'aborted');
        session_id($id);
        assert(session_start() === true, implode("\n", Seen::$messages));
        assert($_SESSION === $stored, json_encode($_SESSION));
        $_SESSION['after_abort'] = 'yes';
        assert(session_write_close() === true, implode("\n", Seen::$messages));
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report();
        break;

    case 'read_other':
        // A B: PHP's bug70133.phpt: a SessionHandler subclass whose read() always reads A. A is
        // written under A; then B starts, reads A's data and is written under B.
        [$a, $b] = $args;
        $handler = new class ($a) extends SessionHandler {
            public function __construct(private string $always)
            {
            }

            public function read(string $id): string|false
            {
                return parent::read($this->always);
            }
        };
        assert(session_set_save_handler($handler, true) === true);
        session_id($a);
        assert(session_start() === true, implode("\n", Seen::$messages));
        $_SESSION['foo'] = 'hoge';
        assert(session_commit() === true, implode("\n", Seen::$messages));
        session_id($b);
        assert(session_start() === true, implode("\n", Seen::$messages));
        assert($_SESSION === ['foo' => 'hoge'], json_encode($_SESSION));
        assert(session_id() === $b);
        assert(session_commit() === true, implode("\n", Seen::$messages));
        assert(Seen::$messages === [], implode("\n", Seen::$messages));
        report();
        break;

    default:
        throw new LogicException("unknown mode $mode");
}
