"""Transactions per step on PostgreSQL: runs N Steps instances (20 steps each) one
after another on a fresh database (on the server COSMOS_TEST_POSTGRES names) with
COSMOSC serve, polling each instance every 100 ms, stops the server, and prints
pg_stat_database's counters for that database divided by the number of steps (reads,
polls, migrations and idle loops included).

Usage: COSMOS_TEST_POSTGRES=postgres://… python transactions.py COSMOSC [N]
"""
import http.client, json, os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers

cosmosc, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
base = os.environ["COSMOS_TEST_POSTGRES"]
db = peers.Databases(base)
url = db.fresh("count_steps", "postgres")
work = tempfile.mkdtemp(prefix="peers-transactions-")
project = os.path.join(work, "project")
shutil.copytree(os.path.join(peers.HERE, "cosmos"), project)
port = peers.free_port()
server = subprocess.Popen([cosmosc, "serve", project, "--listen", f"127.0.0.1:{port}", "--store", url],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
for line in server.stderr:
    if "listening on" in line:
        break
conn = http.client.HTTPConnection("127.0.0.1", port)
def call(m, p, b=None):
    conn.request(m, p, body=b, headers={"Content-Type": "application/json"})
    return json.loads(conn.getresponse().read())
def stats():
    out = subprocess.run(["psql", base, "-At", "-c",
        "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_returned + tup_fetched "
        "FROM pg_stat_database WHERE datname = 'count_steps'"], capture_output=True, text=True, check=True)
    return [int(x) for x in out.stdout.strip().split("|")]
time.sleep(1.5)
t0 = time.time()
for i in range(n):
    created = call("POST", "/v1/workflows/Steps/instances", "{}")
    while call("GET", f"/v1/instances/{created['id']}")["status"] != "COMPLETED":
        time.sleep(0.1)
elapsed = time.time() - t0
server.terminate(); server.wait()
time.sleep(1.5)
after = stats()
db.drop_all()
shutil.rmtree(work, ignore_errors=True)
steps = n * peers.STEPS
names = ["xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted", "tup_read"]
print(os.path.basename(cosmosc), f"{n} instances, {steps} steps, {elapsed:.1f} s (incl. idle polls)")
print("  per step:", ", ".join(f"{k} {v/steps:.2f}" for k, v in zip(names, after)))
