#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tests/systemd/reset.sh — runs INSIDE the container after every scenario:
# back to the state tests/systemd/setup.sh left (zsso_systemd.reset()).
exec /usr/bin/python3 -c 'import zsso_systemd as t; t.reset()'
