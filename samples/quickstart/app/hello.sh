#!/bin/sh
echo "Hello from taskrun"
