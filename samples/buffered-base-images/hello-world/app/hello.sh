#!/bin/sh
echo "Hello World from node $(node --version), background $BACKGROUND_COLOR"
