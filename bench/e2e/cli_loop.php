<?php
// The end-to-end benchmark's PHP CLI loop (scripts/bench-e2e.sh): one process runs request after
// request on one session — session_start(), keep a 1 KiB payload, count, session_write_close() —
// like a php-fpm worker does, without the web server.
// usage: php cli_loop.php ID time SECONDS WARMUP_SECONDS | php cli_loop.php ID count N
// Prints {"requests", "seconds", "p50_us", "p99_us"} (requests after the warm-up only).
// Any warning or notice fails the run: a benchmark of failing sessions measures nothing.

ob_start();
set_error_handler(static function (int $no, string $msg): bool {
    fwrite(STDERR, "cli_loop.php: $msg\n");
    exit(1);
});
[, $id, $mode] = $argv;
$payload = str_repeat('0123456789abcdef', 64);

function one_request(string $id, string $payload): int
{
    $t = hrtime(true);
    session_id($id);
    if (!session_start()) {
        fwrite(STDERR, "cli_loop.php: session_start() failed\n");
        exit(1);
    }
    $_SESSION['user_id'] ??= 42; // phpsess.user_key in the "+ user_key" rows
    $_SESSION['payload'] ??= $payload;
    $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
    session_write_close();
    return hrtime(true) - $t;
}

$latencies = [];
if ($mode === 'count') {
    $t0 = hrtime(true);
    for ($i = 0, $n = (int) $argv[3]; $i < $n; $i++) {
        $latencies[] = one_request($id, $payload);
    }
    $elapsed = (hrtime(true) - $t0) / 1e9;
} else {
    $warmupEnd = hrtime(true) + (int) ((float) $argv[4] * 1e9);
    while (hrtime(true) < $warmupEnd) {
        one_request($id, $payload);
    }
    $t0 = hrtime(true);
    $end = $t0 + (int) ((float) $argv[3] * 1e9);
    while (hrtime(true) < $end) {
        $latencies[] = one_request($id, $payload);
    }
    $elapsed = (hrtime(true) - $t0) / 1e9;
}
sort($latencies);
$rank = static fn (float $p): int => $latencies[max(1, (int) ceil($p / 100 * count($latencies))) - 1];
ob_end_clean();
echo json_encode([
    'requests' => count($latencies),
    'seconds' => $elapsed,
    'p50_us' => $rank(50) / 1000,
    'p99_us' => $rank(99) / 1000,
]), "\n";
