<?php
// Runs PHP's unserialize() or serialize() N times on a file, for instruction counting under
// callgrind (scripts/bench-callgrind.sh); two runs with different N cancel the start-up cost out.
//
// Usage: php -n bench/php_loop.php <unserialize|serialize> <file> <n>

declare(strict_types=1);

require __DIR__ . '/classes.php';

if ($argc !== 4 || !in_array($argv[1], ['unserialize', 'serialize'], true)) {
    fwrite(STDERR, "usage: php bench/php_loop.php <unserialize|serialize> <file> <n>\n");
    exit(2);
}
[, $op, $path, $n] = $argv;
$bytes = file_get_contents($path);
if ($bytes === false) {
    fwrite(STDERR, "cannot read $path\n");
    exit(1);
}
$value = unserialize($bytes);
$n = (int) $n;
if ($op === 'unserialize') {
    for ($i = 0; $i < $n; $i++) {
        $v = unserialize($bytes);
    }
} else {
    for ($i = 0; $i < $n; $i++) {
        $s = serialize($value);
    }
}
