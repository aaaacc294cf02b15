<?php
// Prints the format benchmark's comparison table (markdown) from criterion's estimates and the JSON
// lines of bench/php_format.php. Ratios are PHP time / phpsess time: above 1 means phpsess is faster.
//
// Usage: php -n bench/table.php <criterion-dir> <not-before-unix-time> <php.jsonl>...
// Criterion estimates older than <not-before-unix-time> are refused, so a failed or filtered run
// never reports stale numbers. With several PHP runs (before and after criterion), each PHP cell
// is the fastest run: the machines are noisy, and this way noise never flatters phpsess. The
// spread between PHP runs is printed as a measure of that noise.

declare(strict_types=1);

if ($argc < 4) {
    fwrite(STDERR, "usage: php bench/table.php <criterion-dir> <not-before-unix-time> <php.jsonl>...\n");
    exit(2);
}
[, $criterion, $notBefore] = $argv;
$phpFiles = array_slice($argv, 3);

const DECODE_GOAL = 2.0;
const ENCODE_GOAL = 1.5;

$php = [];
$spread = 0.0;
foreach ($phpFiles as $phpFile) {
    foreach (file($phpFile, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
        $row = json_decode($line, true, 8, JSON_THROW_ON_ERROR);
        $seen = $php[$row['payload']][$row['op']] ?? null;
        if ($seen !== null) {
            $lo = min($seen['mean_ns'], $row['mean_ns']);
            $hi = max($seen['mean_ns'], $row['mean_ns']);
            $spread = max($spread, $hi / $lo - 1);
        }
        if ($seen === null || $row['mean_ns'] < $seen['mean_ns']) {
            $php[$row['payload']][$row['op']] = $row;
        }
    }
}

/** Criterion's mean estimate in ns for group/id. */
function criterion_mean(string $dir, string $group, string $id, int $notBefore): float
{
    $path = "$dir/$group/$id/new/estimates.json";
    if (!is_file($path)) {
        fwrite(STDERR, "missing $path: did the criterion run finish?\n");
        exit(1);
    }
    if (filemtime($path) < $notBefore) {
        fwrite(STDERR, "$path is older than this run: did the criterion run finish?\n");
        exit(1);
    }
    $e = json_decode(file_get_contents($path), true, 16, JSON_THROW_ON_ERROR);
    return (float) $e['mean']['point_estimate'];
}

function human_time(float $ns): string
{
    if ($ns < 1e3) {
        return sprintf('%.0f ns', $ns);
    }
    if ($ns < 1e6) {
        return sprintf('%.2f µs', $ns / 1e3);
    }
    return sprintf('%.3f ms', $ns / 1e6);
}

function cell(float $ns, int $bytes): string
{
    return sprintf('%s (%.0f MB/s)', human_time($ns), $bytes / $ns * 1e3);
}

// The decode goal is judged on Document::parse: the full decode (every byte validated, every
// value reachable) without building a tree of allocations. The tree-building decoders follow in
// a second table, so the numbers a reader compares are all printed.
echo "| payload | bytes | PHP unserialize | phpsess Document::parse | ratio | PHP serialize | phpsess serialize | ratio |\n";
echo "|---|---:|---:|---:|---:|---:|---:|---:|\n";
$misses = [];
foreach (['laravel', 'cart', 'large'] as $name) {
    if (!isset($php[$name]['unserialize'], $php[$name]['serialize'])) {
        fwrite(STDERR, "no PHP timing for $name in " . implode(', ', $phpFiles) . "\n");
        exit(1);
    }
    $bytes = (int) $php[$name]['unserialize']['bytes'];
    $phpDecode = (float) $php[$name]['unserialize']['mean_ns'];
    $phpEncode = (float) $php[$name]['serialize']['mean_ns'];
    $decode = criterion_mean($criterion, 'decode_document', $name, (int) $notBefore);
    $encode = criterion_mean($criterion, 'encode', $name, (int) $notBefore);
    $decodeRatio = $phpDecode / $decode;
    $encodeRatio = $phpEncode / $encode;
    printf(
        "| %s | %d | %s | %s | %.2fx | %s | %s | %.2fx |\n",
        $name,
        $bytes,
        cell($phpDecode, $bytes),
        cell($decode, $bytes),
        $decodeRatio,
        cell($phpEncode, $bytes),
        cell($encode, $bytes),
        $encodeRatio,
    );
    if ($decodeRatio < DECODE_GOAL) {
        $misses[] = sprintf('decode %s %.2fx < %.1fx', $name, $decodeRatio, DECODE_GOAL);
    }
    if ($encodeRatio < ENCODE_GOAL) {
        $misses[] = sprintf('encode %s %.2fx < %.1fx', $name, $encodeRatio, ENCODE_GOAL);
    }
}
echo "\n";
if (count($phpFiles) > 1) {
    printf(
        "PHP cells: the fastest of %d PHP runs (before and after criterion); they differed by up to %.0f%%.\n\n",
        count($phpFiles),
        $spread * 100,
    );
}
echo "Decoding into trees, against the same PHP times:\n\n";
echo "| payload | PHP unserialize | phpsess unserialize (owned Value) | ratio | phpsess unserialize_borrowed | ratio |\n";
echo "|---|---:|---:|---:|---:|---:|\n";
foreach (['laravel', 'cart', 'large'] as $name) {
    $bytes = (int) $php[$name]['unserialize']['bytes'];
    $phpDecode = (float) $php[$name]['unserialize']['mean_ns'];
    $owned = criterion_mean($criterion, 'decode', $name, (int) $notBefore);
    $borrowed = criterion_mean($criterion, 'decode_borrowed', $name, (int) $notBefore);
    printf(
        "| %s | %s | %s | %.2fx | %s | %.2fx |\n",
        $name,
        cell($phpDecode, $bytes),
        cell($owned, $bytes),
        $phpDecode / $owned,
        cell($borrowed, $bytes),
        $phpDecode / $borrowed,
    );
}
echo "\n";
printf(
    "Goals (Document::parse >= %.1fx PHP unserialize, serialize >= %.1fx PHP serialize): %s\n",
    DECODE_GOAL,
    ENCODE_GOAL,
    $misses === [] ? 'met' : 'missed: ' . implode('; ', $misses),
);
