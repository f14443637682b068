#!/bin/sh
# One step of the travel booking saga (Workflows/travel.json).
#
#   travel-step.sh STEP TRIP_ID [ARG...]
#
# Actions: book-flight, book-hotel, book-car, confirm, notify FLIGHT HOTEL CAR. Compensations: cancel-flight
# BOOKING, cancel-hotel BOOKING, cancel-car BOOKING. Probe: probe TRIP_ID STEP.
# Appends to $SAGA_SCRATCH/travel-TRIP_ID.log and prints the step's output as JSON.
set -eu
. "$(dirname "$0")/lib.sh"

step=${1:-}
trip=${2:-}
saga_init travel "$trip"

case $step in
book-flight | book-hotel | book-car)
    saga_fail_on_demand "$step"
    saga_record "$step" "{\"tripId\":\"$trip\",\"booking\":\"${step#book-}-$trip\"}"
    ;;
confirm)
    saga_fail_on_demand "$step"
    saga_record "$step" "{\"tripId\":\"$trip\",\"confirmation\":\"c-$trip\"}"
    ;;
notify)
    for booking in "${3:-}" "${4:-}" "${5:-}"; do saga_check_id "$booking"; done
    saga_record "$step" "{\"tripId\":\"$trip\",\"notified\":[\"$3\",\"$4\",\"$5\"]}"
    ;;
probe)
    saga_probe "${3:-}"
    ;;
cancel-flight | cancel-hotel | cancel-car)
    saga_check_id "${3:-}"
    saga_record "$step" "{\"tripId\":\"$trip\",\"cancelled\":\"$3\"}"
    ;;
*)
    echo "travel-step.sh: unknown step '$step'" >&2
    exit 100
    ;;
esac
