"""Two small Singer programs, shared by the engine and pipeline tests (see their conftest files)."""

TAP = r"""
import json, os, sys, time
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
state = {}
if "--state" in sys.argv:
    state = json.load(open(sys.argv[sys.argv.index("--state") + 1]))
start = state.get("bookmarks", {}).get("numbers", {}).get("last", 0)
total, every = config.get("records", 10), config.get("state_every", 5)
delay, crash_at, garbage_at = config.get("delay", 0), config.get("crash_at"), config.get("garbage_at")
print(f"tap starting at {start} with password {config.get('password')}", file=sys.stderr, flush=True)
out = sys.stdout
out.write(json.dumps({"type": "SCHEMA", "stream": "numbers", "key_properties": ["n"],
                      "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}) + "\n")
for n in range(start + 1, total + 1):
    if crash_at == n:
        print("tap crashed on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    if garbage_at == n:
        out.write("this is not json\n")
    out.write('{"type":"RECORD","stream":"numbers","record":{"n":%d}}\n' % n)
    if n % every == 0:
        out.write(json.dumps({"type": "STATE", "value": {"bookmarks": {"numbers": {"last": n}}}}) + "\n")
        out.flush()
    if delay:
        out.flush()
        time.sleep(delay)
out.write(json.dumps({"type": "STATE", "value": {"bookmarks": {"numbers": {"last": total}}}}) + "\n")
"""

TARGET = r"""
import json, os, signal, sys, time
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
path, fail_at, delay = config["path"], config.get("fail_at"), config.get("delay", 0)
time.sleep(config.get("wait", 0))  # busy elsewhere before it reads anything
rows = set(json.load(open(path))) if os.path.exists(path) else set()
pending = []
def flush():
    rows.update(pending); pending.clear()
    with open(path + ".tmp", "w") as f: json.dump(sorted(rows), f)
    os.replace(path + ".tmp", path)
for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "RECORD":
        if fail_at == message["record"]["n"]:
            print("target refused record", fail_at, file=sys.stderr, flush=True)
            sys.exit(7)
        pending.append(message["record"]["n"])
        if delay:
            time.sleep(delay)
    elif message["type"] == "STATE":
        flush()
        print(json.dumps(message["value"]), flush=True)  # bare, as Singer targets print it
flush()
"""
