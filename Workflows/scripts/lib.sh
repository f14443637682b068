# Shared by the example sagas' step scripts (sourced, not run). POSIX sh and coreutils only.
#
# Every step acts on a log file in a scratch folder: $SAGA_SCRATCH, or ${TMPDIR:-/tmp}/sagas-scratch when it is
# unset (commands run in the workflow file's folder, so a relative default would land inside Workflows/).

# saga_init SAGA ID: checks ID, sets $log to $SCRATCH/SAGA-ID.log and reads the step's stdin into $saga_stdin.
saga_init() {
    case ${2:-} in
    '' | *[!A-Za-z0-9._-]*)
        echo "invalid id '${2:-}': use letters, digits, '.', '_' or '-'" >&2
        exit 100
        ;;
    esac
    scratch=${SAGA_SCRATCH:-${TMPDIR:-/tmp}/sagas-scratch}
    mkdir -p "$scratch"
    log="$scratch/$1-$2.log"
    touch "$log"
    if [ -t 0 ]; then saga_stdin='{}'; else saga_stdin=$(cat); fi
}

# saga_fail_on_demand STEP: exits 100 (a permanent failure) when the saga input has "failAt": "STEP".
saga_fail_on_demand() {
    if printf '%s' "$saga_stdin" | grep -q "\"failAt\"[[:space:]]*:[[:space:]]*\"$1\""; then
        echo "$1 failed on demand (input.failAt is \"$1\")" >&2
        exit 100
    fi
}

# saga_fail_undo_on_demand: in a compensation, exits 100 (fails for good) when the saga input has
# "failUndo": "$SAGA_STEP" (the step whose compensation this is), until the file $SCRATCH/$SAGA_ID.fixed exists.
saga_fail_undo_on_demand() {
    if printf '%s' "$saga_stdin" | grep -q "\"failUndo\"[[:space:]]*:[[:space:]]*\"${SAGA_STEP:-}\"" \
        && [ ! -f "$scratch/${SAGA_ID:-}.fixed" ]; then
        echo "the compensation of ${SAGA_STEP:-} failed on demand (input.failUndo is \"${SAGA_STEP:-}\")" >&2
        exit 100
    fi
}

# saga_record STEP OUTPUT: appends "STEP key=KEY OUTPUT" to the log, once per idempotency key, and prints OUTPUT.
# A repeated attempt with a key already in the log is a no-op that prints the same output.
saga_record() {
    key=${SAGA_IDEMPOTENCY_KEY:-none}
    if [ "$key" = none ] || ! grep -qF " key=$key " "$log"; then
        printf '%s key=%s %s\n' "$1" "$key" "$2" >>"$log"
    fi
    printf '%s\n' "$2"
}

# saga_probe STEP: exits 0 printing STEP's recorded output when it took effect, 10 when it did not.
saga_probe() {
    line=$(grep "^$1 key=" "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        printf '%s\n' "${line#* key=* }"
        exit 0
    fi
    exit 10
}

# saga_check_id VALUE: exits 100 unless VALUE is a safe identifier (it is written into JSON output).
saga_check_id() {
    case ${1:-} in
    '' | *[!A-Za-z0-9._-]*)
        echo "invalid value '${1:-}'" >&2
        exit 100
        ;;
    esac
}
