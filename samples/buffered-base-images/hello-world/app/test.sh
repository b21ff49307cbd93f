#!/bin/sh
set -e
sh /app/hello.sh | grep -q '^Hello World from node v15\.'
echo "test passed"
