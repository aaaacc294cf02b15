<?php
// PHP side of crates/phpsess/tests/session_php.rs: real PHP 8.2 sessions for the Rust session
// encodings to be checked against, in one process.
//
// Run as: php -n -d zend.assertions=1 -d assert.exception=1 -d display_errors=stderr session_oracle.php
//
// stdin: lines "<format> <hex>", each a stored session for PHP to read back.
// stdout, one line each, fields separated by one space, bytes hex-encoded ("" is "-"):
//   gen <format> <scenario> <written> <serialize($_SESSION)> <warnings>
//       a session filled by PHP code and written by session_write_close()
//   dec <format> <ok|fail> <written> <serialize($_SESSION)> <warnings>
//       the stdin session read by session_start(), then written back (both "-" on fail)
// "written" is what the save handler received: the bytes PHP stores.
//
// Before any of that, selfcheck() asserts the PHP facts that the Rust module docs cite, so a PHP
// that behaves differently fails here with the fact named.

declare(strict_types=1);

/** A save handler that stores nothing: read() returns $read, write() records its data. */
final class CaptureHandler implements SessionHandlerInterface
{
    public static string $read = '';
    public static ?string $written = null;

    public function open(string $path, string $name): bool { return true; }
    public function close(): bool { return true; }
    public function read(string $id): string { return self::$read; }
    public function write(string $id, string $data): bool { self::$written = $data; return true; }
    public function destroy(string $id): bool { return true; }
    public function gc(int $max_lifetime): int { return 0; }
}

enum Suit: string { case Hearts = 'H'; case Spades = 'S'; }

class Point
{
    public $x = 1;
    protected $y = 2;
    private $z = 3;
}

/** Warnings raised during one case; reset by run(). */
$GLOBALS['warnings'] = [];
set_error_handler(function (int $no, string $msg): bool {
    if ($no === E_DEPRECATED) {
        return true;
    }
    $GLOBALS['warnings'][] = $msg;
    return true;
});

// Declared at run time, after the handler above, so that PHP 8.1+'s "Serializable is deprecated"
// notice does not reach the output.
if (true) {
    /** A Serializable class, written as C:. */
    class Legacy implements Serializable
    {
        public $data = 'abc';
        public function serialize(): string { return $this->data; }
        public function unserialize(string $data): void { $this->data = $data; }
    }
}

// Session ini settings cannot change once output has started ("headers already sent"), so all
// output is buffered until the end.
ob_start();

session_set_save_handler(new CaptureHandler(), false);
ini_set('session.use_cookies', '0');
ini_set('session.use_only_cookies', '0');
ini_set('session.cache_limiter', '');
ini_set('session.lazy_write', '0');

/**
 * Read $stored with $format, let $fill change $_SESSION, write it back.
 * Returns [ok, written, serialize($_SESSION) before writing, warnings].
 */
function run(string $format, string $stored, ?callable $fill = null): array
{
    $GLOBALS['warnings'] = [];
    ini_set('session.serialize_handler', $format);
    CaptureHandler::$read = $stored;
    CaptureHandler::$written = null;
    session_id('oracle');
    if (!session_start()) {
        return [false, null, null, implode("\n", $GLOBALS['warnings'])];
    }
    if ($fill) {
        $fill();
    }
    $ser = serialize($_SESSION);
    session_write_close();
    return [true, CaptureHandler::$written, $ser, implode("\n", $GLOBALS['warnings'])];
}

function hexf(?string $s): string
{
    return $s === null || $s === '' ? '-' : bin2hex($s);
}

/** Session contents, as code that fills $_SESSION. */
function scenarios(): array
{
    $all_types = function () {
        $o = new Point();
        $_SESSION['n'] = null;
        $_SESSION['t'] = true;
        $_SESSION['f0'] = false;
        $_SESSION['i'] = -7;
        $_SESSION['imax'] = PHP_INT_MAX;
        $_SESSION['imin'] = PHP_INT_MIN;
        $_SESSION['f'] = 0.1;
        $_SESSION['floats'] = [-0.0, INF, -INF, NAN, 1e100, 5e-324, 1.0, 0.30000000000000004];
        $_SESSION['s'] = "h\xe9\0\"|;}";
        $_SESSION['empty'] = '';
        $_SESSION['list'] = [1, [2, [3]]];
        $_SESSION['map'] = ['k' => 'v', 7 => 'seven', '-1' => 'neg', '07' => 'str'];
        $_SESSION['obj'] = $o;
        $_SESSION['enum'] = Suit::Hearts;
        $_SESSION['legacy'] = new Legacy();
        $_SESSION['same_obj'] = $o;
        $_SESSION['std'] = (object) ['a' => 1, 'b' => [Suit::Spades]];
    };
    return [
        'empty' => function () {},
        'one' => function () { $_SESSION['a'] = 1; },
        'all_types' => $all_types,
        'names' => function () {
            foreach (['!a', 'a!', "a\0b", "\xff\xfe", '', ' 5', '05', '-0', str_repeat('n', 127), "x:y;z", 'é'] as $i => $name) {
                $_SESSION[$name] = $i;
            }
        },
        // PHP writes an empty session for the php format, and this name in php_binary.
        'bar_name' => function () { $_SESSION['ok'] = 1; $_SESSION['a|b'] = 2; },
        // php_binary drops this variable without a warning.
        'long_name' => function () { $_SESSION['ok'] = 1; $_SESSION[str_repeat('m', 128)] = 2; },
        // php and php_binary skip both with "Skipping numeric key".
        'int_keys' => function () { $_SESSION[5] = 'five'; $_SESSION['6'] = 'six'; $_SESSION['ok'] = 1; },
        'ref_between_vars' => function () { $_SESSION['b'] = 1; $_SESSION['a'] = &$_SESSION['b']; },
        'ref_before_target' => function () { $_SESSION['a'] = &$_SESSION['b']; $_SESSION['b'] = [1]; },
        'shared_objects' => function () {
            $o = new stdClass();
            $o->self = $o;
            $_SESSION['x'] = [1, 2];
            $_SESSION['o'] = $o;
            $_SESSION['p'] = $o;
            $_SESSION['q'] = [$o, 'k' => $o, 'p' => new Point()];
        },
        'nested_refs' => function () {
            $arr = [1, 2];
            $arr[2] = &$arr[0];
            $_SESSION['x'] = $arr;
            $_SESSION['y'] = 5;
            $_SESSION['z'] = &$_SESSION['x'][1];
            $_SESSION['w'] = [&$_SESSION['y']];
        },
        'self_ref' => function () { $_SESSION['s'] = &$_SESSION; $_SESSION['t'] = 1; },
        'many' => function () {
            $shared = new Point();
            for ($i = 0; $i < 300; $i++) {
                $_SESSION["v$i"] = match ($i % 5) {
                    0 => $i,
                    1 => str_repeat('x', $i),
                    2 => [$i, (string) $i, $shared],
                    3 => $shared,
                    4 => $i / 7,
                };
            }
        },
        'big_string' => function () { $_SESSION['blob'] = str_repeat("\0\xff|", 50000); },
    ];
}

/** The facts the Rust docs cite; each assert names the fact. */
function selfcheck(): void
{
    [$ok, $w] = run('php', '');
    assert($ok && $w === '', 'empty php session is written as ""');
    [$ok, $w] = run('php_serialize', '');
    assert($ok && $w === 'a:0:{}', 'empty php_serialize session is written as a:0:{}');
    [, $w] = run('php', '', function () { $_SESSION['ok'] = 1; $_SESSION['a|b'] = 2; });
    assert($w === '', "a '|' in a php name makes PHP write an empty session");
    [, $w, , $warn] = run('php_binary', '', function () { $_SESSION[str_repeat('m', 128)] = 2; $_SESSION['z'] = 1; });
    assert($w === "\x01zi:1;" && $warn === '', 'php_binary drops a 128-byte name silently');
    [, $w, , $warn] = run('php', '', function () { $_SESSION[5] = 1; });
    assert($w === '' && str_contains($warn, 'Skipping numeric key 5'), 'php skips int keys with a warning');
    [$ok, $w, $ser] = run('php', '5|i:1;');
    assert($ok && $w === '5|i:1;' && $ser === 'a:1:{s:1:"5";i:1;}', 'php reads the name 5 as a string key and writes it back');
    [$ok, , $ser] = run('php', '!a|i:1;');
    assert($ok && $ser === 'a:1:{s:2:"!a";i:1;}', "'!' is part of a php name, no undefined marker");
    [$ok] = run('php', '!a|');
    assert(!$ok, "'!a|' without a value fails");
    [$ok, $w] = run('php_binary', "\x81ai:1;");
    assert($ok && $w === "\x01ai:1;", 'php_binary masks the length byte high bit and reads a value');
    [$ok, $w] = run('php_serialize', 'a:1:{s:1:"a";i:1;}junk');
    assert($ok && $w === 'a:1:{s:1:"a";i:1;}', 'php_serialize ignores trailing bytes');
    [$ok, $w] = run('php_serialize', 'N;');
    assert($ok && $w === 'a:0:{}', 'php_serialize reads N; as the empty session');
    [$ok, , , $warn] = run('php', 'a|i:1;b');
    assert(!$ok && str_contains($warn, 'Failed to decode session object'), 'a php name without | fails the whole session');
    [$ok, $w] = run('php', 'a|i:1;b|i:2;a|i:3;');
    assert($ok && $w === 'a|i:3;b|i:2;', 'a repeated name keeps its first position and last value');
    [$ok, , $ser] = run('php', 'a|i:1;a|i:2;b|R:2;');
    assert($ok && $ser === 'a:2:{s:1:"a";i:2;s:1:"b";R:2;}', 'a reference may point at a repeated name');
}

selfcheck();

$requests = stream_get_contents(STDIN);
foreach (scenarios() as $name => $fill) {
    foreach (['php', 'php_serialize', 'php_binary'] as $format) {
        [, $w, $ser, $warn] = run($format, '', $fill);
        echo "gen $format $name ", hexf($w), ' ', hexf($ser), ' ', hexf($warn), "\n";
    }
}
foreach (explode("\n", $requests) as $line) {
    if ($line === '') {
        continue;
    }
    [$format, $hex] = explode(' ', $line);
    $stored = $hex === '-' ? '' : hex2bin($hex);
    [$ok, $w, $ser, $warn] = run($format, $stored);
    echo "dec $format ", $ok ? 'ok' : 'fail', ' ', hexf($w), ' ', hexf($ser), ' ', hexf($warn), "\n";
}
ob_end_flush();
