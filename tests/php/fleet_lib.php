<?php
// Shared helpers of the fleet tests (tests/tests/fleet/*.rs): the session every mixed-fleet test
// writes and compares, warning capture, and one JSON line of output.

declare(strict_types=1);

class FleetUser
{
    public string $name;
    protected array $roles;
    private string $secret;

    public function __construct(string $name, array $roles, string $secret)
    {
        $this->name = $name;
        $this->roles = $roles;
        $this->secret = $secret;
    }
}

enum FleetPlan: string
{
    case Free = 'free';
    case Pro = 'pro';
}

/** The session the mixed-fleet tests write with one handler and read with the other. */
function fleet_expected_session(): array
{
    $shared = new stdClass();
    $shared->k = 'v';
    return [
        'user' => new FleetUser('ada', ['admin', 'dev'], "s\0ecret"),
        'plan' => FleetPlan::Pro,
        'int' => PHP_INT_MAX,
        'neg' => -42,
        'float' => 0.1,
        'negzero' => -0.0,
        'big' => 1.0e300,
        'inf' => INF,
        'yes' => true,
        'nothing' => null,
        'bytes' => "\x00\xff\xfe|;:\"{}!",
        'utf8' => "gr\u{fc}\u{df}e \u{2713}",
        'empty' => '',
        'list' => [1, 2, 3],
        'map' => [10 => 'a', 'k' => ['nested' => [true]], -5 => 'neg', '07' => 'str key'],
        'shared1' => $shared,
        'shared2' => $shared,
        'cart' => array_fill(0, 20, ['sku' => 'X-1', 'qty' => 2]),
    ];
}

/** Warnings and notices raised since fleet_capture_errors(), as "E_WARNING: message". */
$GLOBALS['fleet_errors'] = [];

function fleet_capture_errors(): void
{
    set_error_handler(static function (int $no, string $msg): bool {
        $names = [E_WARNING => 'E_WARNING', E_NOTICE => 'E_NOTICE', E_DEPRECATED => 'E_DEPRECATED',
            E_USER_WARNING => 'E_USER_WARNING', E_USER_NOTICE => 'E_USER_NOTICE'];
        $GLOBALS['fleet_errors'][] = ($names[$no] ?? "E_$no") . ': ' . $msg;
        return true;
    });
}

function fleet_errors(): array
{
    return $GLOBALS['fleet_errors'];
}

/** Prints one JSON line (binary-safe enough for messages: invalid UTF-8 is substituted). */
function fleet_json(mixed $data): void
{
    echo json_encode($data, JSON_INVALID_UTF8_SUBSTITUTE | JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_SLASHES), "\n";
}

/** Milliseconds since $t0 (from hrtime(true)). */
function fleet_ms(int $t0): float
{
    return round((hrtime(true) - $t0) / 1e6, 3);
}
