#!/usr/bin/env bash
# Runs the JUCE plugin's LV2 build in jalv (console host) on a private dummy JACK server, as a
# user would on a Linux studio machine, and checks that it loads, creates its JACK ports,
# reports a latency and processes for a few seconds without failing.
#
#   jalv_test.sh LV2_BUNDLE_DIR PLUGIN_URI MODEL_CONFIG
set -euo pipefail

if (($# != 3)); then
    echo "usage: $0 LV2_BUNDLE_DIR PLUGIN_URI MODEL_CONFIG" >&2
    exit 2
fi
bundle=$(cd "$1" && pwd)
uri=$2
config=$3
[[ -f $bundle/manifest.ttl ]] || { echo "FAILED: no manifest.ttl in $bundle" >&2; exit 1; }
[[ -f $config ]] || { echo "FAILED: no model config $config" >&2; exit 1; }

# A server of our own (unique name), which clients find through JACK_DEFAULT_SERVER and never
# start by themselves.
server="legato_juce_$$"
export JACK_DEFAULT_SERVER=$server JACK_NO_START_SERVER=1 JACK_NO_AUDIO_RESERVATION=1
work=$(mktemp -d "${TMPDIR:-/tmp}/legato_jalv.XXXXXX")
jackd_pid=""
jalv_pid=""

# Stops a process we started: TERM, then KILL after 5 s. Returns its exit status if it had
# already exited by itself, 0 if we stopped it.
stop() {
    local pid=$1
    [[ -n $pid ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null || true
        return 0
    fi
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    return "$status"
}
cleanup() {
    # Clients before the server.
    stop "$jalv_pid" || true
    exec 3>&- 2>/dev/null || true
    stop "$jackd_pid" || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAILED: $*" >&2
    for log in "$work"/*.log; do
        [[ -s $log ]] || continue
        echo "---- $(basename "$log") ----" >&2
        tail -n 40 "$log" >&2
    done
    exit 1
}

jackd --no-realtime -n "$server" -d dummy -r 48000 -p 256 >"$work/jackd.log" 2>&1 &
jackd_pid=$!
for _ in $(seq 100); do
    jack_lsp >/dev/null 2>&1 && break
    kill -0 "$jackd_pid" 2>/dev/null || fail "jackd exited"
    sleep 0.1
done
jack_lsp >/dev/null 2>&1 || fail "jackd did not come up within 10 s"

# The plugin reads its default config from LEGATO_MODEL_CONFIG; jalv finds the bundle on
# LV2_PATH. Its stdin is a FIFO this shell keeps open without writing, so jalv's console
# neither reads a command nor sees end-of-file.
client="legato_juce_jalv"
mkfifo "$work/stdin"
exec 3<>"$work/stdin"
LV2_PATH=$(dirname "$bundle") LEGATO_MODEL_CONFIG=$config \
    stdbuf -oL jalv -x -p -n "$client" "$uri" <"$work/stdin" >"$work/jalv.log" 2>&1 &
jalv_pid=$!

# Its JACK ports show up once the plugin is instantiated and activated (models loaded).
ports=""
for _ in $(seq 300); do
    ports=$(jack_lsp 2>/dev/null | grep "^$client:" || true)
    [[ $(grep -c . <<<"$ports") -ge 4 ]] && break
    kill -0 "$jalv_pid" 2>/dev/null || fail "jalv exited before creating its ports"
    sleep 0.1
done
echo "jalv ports:"
echo "$ports"
[[ $(grep -c . <<<"$ports") -ge 4 ]] || fail "expected 2 audio inputs and 2 outputs of $client, got: $ports"

# Feed it the dummy driver's capture and play back into its playback, then let it run.
mapfile -t ins < <(jack_lsp -p 2>/dev/null | awk -v c="$client:" '
    index($0, c) == 1 { port = $0; next } /properties:.*input/ && port != "" { print port } { port = "" }')
mapfile -t outs < <(jack_lsp -p 2>/dev/null | awk -v c="$client:" '
    index($0, c) == 1 { port = $0; next } /properties:.*output/ && port != "" { print port } { port = "" }')
((${#ins[@]} == 2 && ${#outs[@]} == 2)) || fail "expected 2 audio inputs and 2 outputs, got ${ins[*]} / ${outs[*]}"
for i in 0 1; do
    jack_connect "system:capture_$((i + 1))" "${ins[$i]}" || fail "jack_connect to ${ins[$i]}"
    jack_connect "${outs[$i]}" "system:playback_$((i + 1))" || fail "jack_connect from ${outs[$i]}"
done
sleep 3
kill -0 "$jalv_pid" 2>/dev/null || fail "jalv exited while running"
# jalv adds the plugin's reported latency (its lv2:latency port) to its JACK ports' latency.
# The plugin's latency is thus the difference between its output's playback latency and the
# system playback port's it feeds; it must be above 0 (the model is loaded and prepared; the
# pass-through JUCE falls back to without a model reports 0).
playback_latency() {
    jack_lsp -l "$1" 2>/dev/null | awk '/playback latency/ { gsub(/[^0-9 ]/, ""); print $2; exit }'
}
out_latency=$(playback_latency "${outs[0]}")
system_latency=$(playback_latency system:playback_1)
[[ $out_latency =~ ^[0-9]+$ && $system_latency =~ ^[0-9]+$ ]] ||
    fail "could not read JACK port latencies ('$out_latency', '$system_latency')"
plugin_latency=$((out_latency - system_latency))
echo "plugin latency reported through jalv: $plugin_latency samples"
((plugin_latency > 0)) || fail "the plugin reports no latency: no model running"

stop "$jalv_pid" || fail "jalv failed"
jalv_pid=""
grep -qi "error\|failed\|crash" "$work/jalv.log" && fail "jalv reported an error"
cat "$work/jalv.log"
echo "PASSED"
