<?php
/**
 * Run PHP code (read from stdin) inside the test site's WordPress, in the global scope.
 * The code prints its own result (the tests use wp_json_encode).
 */
require __DIR__ . '/bootstrap.php';
require '/usr/share/wordpress/wp-load.php';
eval( stream_get_contents( STDIN ) ); // phpcs:ignore Squiz.PHP.Eval.Discouraged -- a test harness
