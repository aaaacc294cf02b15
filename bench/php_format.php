<?php
// Times PHP's own unserialize() and serialize() on the benchmark payloads, the anchor the Rust
// format benchmark is compared against (scripts/bench-format.sh runs both in one go).
//
// For each payload and operation: warm up, then run batches of calls until the measuring time is
// used, and print one JSON line:
//   {"payload":"cart","op":"unserialize","bytes":10170,"iterations":123,"mean_ns":1234.5,"mb_per_s":8.2}
// mean_ns is wall time per call (hrtime), including freeing the previous result, as a PHP request
// that decodes then drops its session does; mb_per_s counts the serialized bytes (10^6 bytes/s).
//
// Usage: php -n bench/php_format.php <dir> [--seconds=2] [--warmup=0.5] [payload ...]

declare(strict_types=1);

require __DIR__ . '/classes.php';

$dir = null;
$seconds = 2.0;
$warmup = 0.5;
$names = [];
foreach (array_slice($argv, 1) as $arg) {
    if (str_starts_with($arg, '--seconds=')) {
        $seconds = (float) substr($arg, 10);
    } elseif (str_starts_with($arg, '--warmup=')) {
        $warmup = (float) substr($arg, 9);
    } elseif ($dir === null) {
        $dir = $arg;
    } else {
        $names[] = $arg;
    }
}
if ($dir === null || $seconds <= 0) {
    fwrite(STDERR, "usage: php bench/php_format.php <dir> [--seconds=2] [--warmup=0.5] [payload ...]\n");
    exit(2);
}
if ($names === []) {
    $names = ['laravel', 'cart', 'large'];
}

/**
 * Call $op repeatedly for $seconds of wall time; return [iterations, elapsed_ns].
 * Batches grow until one takes ~10 ms, so the clock is read rarely even for sub-microsecond calls.
 */
function run_for(Closure $op, float $seconds): array
{
    $budget = (int) ($seconds * 1e9);
    $batch = 1;
    $iterations = 0;
    $elapsed = 0;
    while ($elapsed < $budget) {
        $t0 = hrtime(true);
        $op($batch);
        $dt = hrtime(true) - $t0;
        $iterations += $batch;
        $elapsed += $dt;
        if ($dt < 10_000_000) {
            $batch *= 2;
        }
    }
    return [$iterations, $elapsed];
}

foreach ($names as $name) {
    $path = "$dir/$name.ser";
    $bytes = file_get_contents($path);
    if ($bytes === false) {
        fwrite(STDERR, "cannot read $path (generate with: php -n bench/payloads.php $dir)\n");
        exit(1);
    }
    $value = unserialize($bytes);
    if (serialize($value) !== $bytes) {
        fwrite(STDERR, "$path: serialize(unserialize()) is not the identity\n");
        exit(1);
    }
    $ops = [
        'unserialize' => function (int $n) use ($bytes): void {
            for ($i = 0; $i < $n; $i++) {
                $v = unserialize($bytes);
            }
        },
        'serialize' => function (int $n) use ($value): void {
            for ($i = 0; $i < $n; $i++) {
                $s = serialize($value);
            }
        },
    ];
    foreach ($ops as $op => $fn) {
        run_for($fn, $warmup);
        [$iterations, $elapsed] = run_for($fn, $seconds);
        $mean = $elapsed / $iterations;
        echo json_encode([
            'payload' => $name,
            'op' => $op,
            'bytes' => strlen($bytes),
            'iterations' => $iterations,
            'mean_ns' => round($mean, 1),
            'mb_per_s' => round(strlen($bytes) / $mean * 1e3, 1),
        ]), "\n";
    }
}
