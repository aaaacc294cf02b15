<?php
// Mixed fleet, one side of a round trip (tests/tests/fleet/mixed.rs).
// usage: php fleet_roundtrip.php write|read SERIALIZER:ID [SERIALIZER:ID ...]
// write: stores fleet_expected_session() under each id with that serialize_handler.
// read:  asserts each id's $_SESSION is exactly fleet_expected_session() (serialize() compares
//        values, types, order, object identity and references), then closes it unchanged.
// The save handler and save_path come from -d settings. Prints {"handler":..., "ids":[...]}.

declare(strict_types=1);
ob_start();
require __DIR__ . '/fleet_lib.php';
fleet_capture_errors();

$mode = $argv[1] ?? '';
assert($mode === 'write' || $mode === 'read', "mode must be write or read, got '$mode'");
$done = [];
foreach (array_slice($argv, 2) as $pair) {
    [$serializer, $id] = explode(':', $pair, 2);
    ini_set('session.serialize_handler', $serializer);
    session_id($id);
    $started = session_start();
    assert($started === true, "session_start() for $id ($serializer) failed: " . implode(' | ', fleet_errors()));
    if ($mode === 'write') {
        assert($_SESSION === [], "session $id already had data: " . serialize($_SESSION));
        $_SESSION = fleet_expected_session();
    } else {
        $got = serialize($_SESSION);
        $want = serialize(fleet_expected_session());
        assert($got === $want, "session $id ($serializer) differs:\n got: $got\nwant: $want");
    }
    assert(session_write_close() === true, "session_write_close() for $id failed: " . implode(' | ', fleet_errors()));
    $done[] = $id;
}
assert(fleet_errors() === [], 'unexpected warnings: ' . implode(' | ', fleet_errors()));
ob_end_clean();
fleet_json(['handler' => ini_get('session.save_handler'), 'mode' => $mode, 'ids' => $done]);
