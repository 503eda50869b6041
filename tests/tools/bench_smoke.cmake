# CTest checks of `legato bench` (registered in tests/tools/CMakeLists.txt):
#   cmake -DLEGATO=<tool> -DMODELS=<models dir> -DOUT=<scratch dir> -DMODE=<mode> -P bench_smoke.cmake
# MODE smoke:          a short run on cnn_past; the CSV, JSON and PNG must hold positive timings
# MODE bad_blocks:     a malformed --blocks list must exit with exit_usage (2)
# MODE unknown_engine: an unknown engine must exit with exit_usage and name the config's engines
# MODE pool_options:   --workers and --wake-strategy replace the config's context in the paced
#                      runs; an unknown strategy exits with exit_usage
# MODE plot:           --plot on a bypass config (any build): the gnuplot script labels the
#                      real-time limit, draws the p50-p99 band, and labels the ticks 64 ... 16k

function(fail message)
    message(FATAL_ERROR "bench_smoke (${MODE}): ${message}")
endfunction()

file(MAKE_DIRECTORY "${OUT}")
set(config "${MODELS}/cnn_past.json")

if(MODE STREQUAL "bad_blocks")
    foreach(blocks "64,abc" "0,256" "")
        execute_process(COMMAND "${LEGATO}" bench "${config}" --blocks "${blocks}"
                        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
        if(NOT rc EQUAL 2)
            fail("--blocks '${blocks}' exited with ${rc}, expected 2 (usage): ${err}")
        endif()
    endforeach()
    return()
endif()

if(MODE STREQUAL "unknown_engine")
    execute_process(COMMAND "${LEGATO}" bench "${config}" --engines onnxruntime,nosuch
                    --blocks 64 --iterations 1 --repetitions 1
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 2)
        fail("exited with ${rc}, expected 2 (usage): ${err}")
    endif()
    if(NOT err MATCHES "unknown engine 'nosuch'" OR NOT err MATCHES "onnxruntime")
        fail("the message does not name the engine and the available ones: ${err}")
    endif()
    return()
endif()

if(MODE STREQUAL "pool_options")
    execute_process(COMMAND "${LEGATO}" bench "${config}" --wake-strategy spin
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 2 OR NOT err MATCHES "spin not in")
        fail("--wake-strategy spin exited with ${rc}, expected 2 (usage): ${err}")
    endif()
    execute_process(COMMAND "${LEGATO}" bench "${config}" --engines onnxruntime --blocks 64
                    --iterations 1 --repetitions 1 --instances 1 --seconds 0.2 --workers 2
                    --wake-strategy timer
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        fail("exited with ${rc}: ${out}\n${err}")
    endif()
    # The paced rows end with: latency, workers, overruns, steal.
    if(NOT out MATCHES "workers wake: timer\n" OR
       NOT out MATCHES "\nonnxruntime +1 \\|[^\n]*\\| +[0-9]+ +2 +[0-9]+ +[0-9]+\n")
        fail("the paced run does not show 2 workers waking by timer: ${out}")
    endif()
    return()
endif()

if(MODE STREQUAL "plot")
    # The bypass backend is in every build, so the plot is checked without an ML engine.
    file(WRITE "${OUT}/bypass.json" [=[{
  "name": "plot_check", "sample_rate": 48000, "engines": [{"engine": "bypass"}],
  "inputs": [{"name": "in", "shape": [1, 1, -1], "hop": 256}],
  "outputs": [{"name": "out", "shape": [1, 1, -1], "hop": 256}],
  "max_inference_time_ms": 2.0, "context": {"realtime_priority": false}
}]=])
    file(REMOVE "${OUT}/p.png" "${OUT}/p.gp")
    execute_process(COMMAND "${LEGATO}" bench "${OUT}/bypass.json" --blocks 64,256,1024,16384
                    --iterations 3 --repetitions 2 --plot "${OUT}/p.png"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        fail("exited with ${rc}: ${out}\n${err}")
    endif()
    file(READ "${OUT}/p.png" signature LIMIT 8 HEX)
    if(NOT signature STREQUAL "89504e470d0a1a0a")
        fail("p.png has the signature ${signature}, not PNG's")
    endif()
    file(READ "${OUT}/p.gp" script)
    # What a reader needs at a glance; each of these was missing from the first plot.
    set(expected
        "set title 'plot_check: [^\n]*'\\.\"\\\\n\"\\.'[^\n]*CPUs?, sample rate 48 kHz'"
        "set label 1 'real-time limit: 20833 ns per sample \\(20\\.8 µs\\) at 48 kHz"
        "using 1:2:3 with filledcurves fs transparent solid 0\\.2[^,]*title 'bypass via Legato: p50–p99'"
        "using 1:2 with linespoints[^,]*title 'bypass via Legato: p50'"
        "using 1:4 with linespoints lw [0-9.]+ dt 2[^,]*title 'bypass direct: p50'"
        "set xtics \\('64' 64, '256' 256, '1k' 1024, '16k' 16384\\)"
        "set ytics \\([^\n]*'10' 10, [^\n]*'100' 100, [^\n]*'1k' 1e\\+03, [^\n]*'10k' 1e\\+04,")
    foreach(pattern IN LISTS expected)
        if(NOT script MATCHES "${pattern}")
            fail("p.gp does not match '${pattern}':\n${script}")
        endif()
    endforeach()
    return()
endif()

if(NOT MODE STREQUAL "smoke")
    fail("unknown MODE")
endif()
file(REMOVE "${OUT}/x.csv" "${OUT}/x.json" "${OUT}/x.png")
execute_process(COMMAND "${LEGATO}" bench "${config}" --engines onnxruntime --blocks 64,256
                --iterations 3 --repetitions 2 --csv "${OUT}/x.csv" --json "${OUT}/x.json"
                --plot "${OUT}/x.png"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    fail("exited with ${rc}: ${out}\n${err}")
endif()
if(NOT out MATCHES "onnxruntime +64 \\|" OR NOT out MATCHES "onnxruntime +256 \\|")
    fail("the table lacks a row per block: ${out}")
endif()

# CSV: the header, then one row per block with positive timings.
file(STRINGS "${OUT}/x.csv" lines)
list(LENGTH lines count)
if(NOT count EQUAL 3)
    fail("x.csv has ${count} lines, expected a header and 2 rows")
endif()
list(GET lines 0 header)
string(REPLACE "," ";" columns "${header}")
set(expected_columns engine block skipped direct_ns_per_sample_p50 direct_ns_per_sample_p99
    handler_ns_per_sample_p50 handler_ns_per_sample_p99 inference_us_p50 inference_us_p99
    inference_us_max direct_us_p50 direct_us_p99 direct_us_max cold_us load_ms worker_mean_us
    engine_in_handler_us_p50 overhead_us overhead_pct handover_us rt_violations inferences failed note)
if(NOT columns STREQUAL expected_columns)
    fail("x.csv header is '${header}'")
endif()
set(blocks 64 256)
foreach(row 1 2)
    list(GET lines ${row} line)
    string(REPLACE "," ";" fields "${line}")
    list(GET fields 0 engine)
    list(GET fields 1 block)
    list(GET fields 2 skipped)
    math(EXPR index "${row} - 1")
    list(GET blocks ${index} expected_block)
    if(NOT engine STREQUAL "onnxruntime" OR NOT block EQUAL expected_block OR NOT skipped EQUAL 0)
        fail("x.csv row ${row} is '${line}'")
    endif()
    # Every timing column (ns per sample, us per inference, cold, load, worker, engine) is positive.
    foreach(column RANGE 3 16)
        list(GET fields ${column} value)
        list(GET columns ${column} name)
        if(NOT value MATCHES "^[0-9.e+-]+$" OR value LESS_EQUAL 0)
            fail("x.csv row ${row}: ${name} = '${value}', expected a positive number")
        endif()
    endforeach()
    list(GET fields 21 inferences)
    if(NOT inferences EQUAL 6)
        fail("x.csv row ${row}: ${inferences} inferences, expected 3 x 2 = 6")
    endif()
endforeach()

# JSON: the same two blocks, with positive medians.
file(READ "${OUT}/x.json" document)
string(JSON model GET "${document}" model)
string(JSON rows LENGTH "${document}" blocks)
if(NOT model STREQUAL "cnn_past" OR NOT rows EQUAL 2)
    fail("x.json: model '${model}', ${rows} blocks")
endif()
foreach(index 0 1)
    list(GET blocks ${index} expected_block)
    string(JSON block GET "${document}" blocks ${index} block)
    string(JSON per_sample GET "${document}" blocks ${index} ns_per_sample handler p50)
    string(JSON direct GET "${document}" blocks ${index} direct_us p50)
    string(JSON count GET "${document}" blocks ${index} handler_us count)
    if(NOT block EQUAL expected_block OR NOT per_sample GREATER 0 OR NOT direct GREATER 0
       OR NOT count EQUAL 6)
        fail("x.json blocks[${index}]: block ${block}, ns/sample ${per_sample}, direct ${direct} us, "
             "${count} inferences")
    endif()
endforeach()

# PNG: present, non-empty, with the PNG signature.
file(SIZE "${OUT}/x.png" size)
file(READ "${OUT}/x.png" signature LIMIT 8 HEX)
if(size LESS 1000 OR NOT signature STREQUAL "89504e470d0a1a0a")
    fail("x.png is ${size} bytes, signature ${signature}")
endif()
