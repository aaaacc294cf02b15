<?php
// Oracle for phpsess's save_path decoders: runs PHP's own parse_str(), parse_url() and
// is_numeric() on a batch of byte strings and prints what PHP made of each, serialize()d.
//
// stdin:  {"parse_str": [hex, ...], "parse_url": [hex, ...], "numeric": [hex, ...]}
// stdout: the same keys, each input replaced by bin2hex(serialize(result)), where result is
//         parse_str($s, $r) ? $r, parse_url($s) (false when it fails), and
//         is_numeric($s) ? $s + 0 : null.
// Run with `php -n` so no php.ini changes max_input_vars and friends.
ini_set('display_errors', 'stderr'); // parse_str() warns past max_input_vars; keep stdout JSON
error_reporting(E_ALL);

$in = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$out = ['parse_str' => [], 'parse_url' => [], 'numeric' => []];
foreach ($in['parse_str'] as $hex) {
    $result = [];
    parse_str(hex2bin($hex), $result);
    $out['parse_str'][] = bin2hex(serialize($result));
}
foreach ($in['parse_url'] as $hex) {
    $out['parse_url'][] = bin2hex(serialize(parse_url(hex2bin($hex))));
}
foreach ($in['numeric'] as $hex) {
    $s = hex2bin($hex);
    $out['numeric'][] = bin2hex(serialize(is_numeric($s) ? $s + 0 : null));
}
echo json_encode($out, JSON_THROW_ON_ERROR);
