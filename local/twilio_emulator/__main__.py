"""Run the emulator as a process: ``python -m local.twilio_emulator --port 8080``."""

import argparse
import contextlib
import signal
import threading

from local.twilio_emulator.server import TEST_ACCOUNT_SID, TwilioEmulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--throughput", action="store_true", help="model per-sender throughput and queues"
    )
    parser.add_argument(
        "--clock-speed", type=float, default=1.0, help="simulated seconds per real second"
    )
    args = parser.parse_args()
    emulator = TwilioEmulator(
        args.host, args.port, throughput=args.throughput, clock_speed=args.clock_speed
    )
    emulator.faults.latency = args.latency
    emulator.start()
    print(f"Twilio emulator on {emulator.url} (account {TEST_ACCOUNT_SID})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    emulator.stop()


if __name__ == "__main__":
    main()
