#!/usr/bin/env bash
# Build-time benchmark: how long a new user waits for the first result, against how long a bare
# progenitor client of the same spec takes to compile, measured side by side in one run.
#
#   benches/build-times.sh             # bare client, quickstart, CLI release build
#   benches/build-times.sh --no-cli    # leave out the (slow) CLI release build
#
# Each build runs in a fresh target directory of its own (never one shared by two copies of
# the workspace), with the registry as it is (warm after the first `cargo fetch`). The bare
# client is what progenitor's README shows: a crate whose build.rs runs `progenitor::Generator`
# with default settings on `openapi/omni-dbt.json`, with the dependencies the generated code
# needs at their default features. Prints the ten largest units of the quickstart's build
# (from `--timings`) and, last, one line of ratios:
#   build-times quickstart_build/bare_client_build=<x> cli_release_build/bare_client_build=<x>
set -euo pipefail
cd "$(dirname "$0")/.."
workspace=$PWD
with_cli=1
[ "${1:-}" = "--no-cli" ] && with_cli=0

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

now() { date +%s.%N; }
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

# The ten largest units of a `--timings` build, from the report's UNIT_DATA.
top_units() {
  python3 - "$1" <<'PY'
import json, re, sys, glob
report = sorted(glob.glob(sys.argv[1] + "/cargo-timings/cargo-timing*.html"))[-1]
text = open(report).read()
data = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", text, re.S).group(1))
for unit in sorted(data, key=lambda u: -u["duration"])[:10]:
    target = unit.get("target", "").strip()
    print(f"  {unit['duration']:6.1f} s  {unit['name']} {unit['version']}{(' ' + target) if target else ''}")
PY
}

# 1. The bare progenitor client.
bare="$scratch/bare"
mkdir -p "$bare/src"
cp openapi/omni-dbt.json "$bare/spec.json"
cat > "$bare/Cargo.toml" <<'TOML'
[package]
name = "bare-progenitor-client"
version = "0.1.0"
edition = "2021"

[dependencies]
futures = "0.3"
progenitor-client = "0.15"
regress = "0.12"
reqwest = { version = "0.13", features = ["json", "stream"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
uuid = { version = "1", features = ["serde"] }

[build-dependencies]
openapiv3 = "2"
prettyplease = "0.3"
progenitor = "0.15"
serde_json = "1"
syn = "3"

[workspace]
TOML
cat > "$bare/build.rs" <<'RS'
fn main() {
    println!("cargo:rerun-if-changed=spec.json");
    let spec = serde_json::from_reader(std::fs::File::open("spec.json").unwrap()).unwrap();
    let tokens = progenitor::Generator::default().generate_tokens(&spec).unwrap();
    let code = prettyplease::unparse(&syn::parse2(tokens).unwrap());
    std::fs::write(std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("codegen.rs"), code).unwrap();
}
RS
echo 'include!(concat!(env!("OUT_DIR"), "/codegen.rs"));' > "$bare/src/lib.rs"
(cd "$bare" && { cargo generate-lockfile --offline --quiet 2>/dev/null || cargo generate-lockfile --quiet; } && cargo fetch --quiet)

echo "== bare progenitor client: cargo build (fresh target directory)"
start=$(now)
(cd "$bare" && CARGO_TARGET_DIR="$scratch/target-bare" cargo build --quiet)
bare_s=$(seconds "$start" "$(now)")
echo "   $bare_s s"

# 2. The quickstart, as the README runs it (`cargo run --example quickstart` builds this).
cargo fetch --quiet
echo "== quickstart: cargo build --example quickstart --timings (fresh target directory)"
start=$(now)
CARGO_TARGET_DIR="$scratch/target-quickstart" cargo build --quiet --example quickstart --timings
quickstart_s=$(seconds "$start" "$(now)")
echo "   $quickstart_s s; its ten largest units:"
top_units "$scratch/target-quickstart"
# Copy the report where it can be read after the run.
mkdir -p "$workspace/target"
cp "$(ls "$scratch"/target-quickstart/cargo-timings/cargo-timing*.html | tail -1)" "$workspace/target/quickstart-timings.html"

ratios="quickstart_build/bare_client_build=$(python3 -c "print(f'{$quickstart_s / $bare_s:.2f}')")"

# 3. The CLI, as a release installs it.
if [ "$with_cli" = 1 ]; then
  echo "== CLI: cargo build --release -p omni-dbt-cli (fresh target directory)"
  start=$(now)
  CARGO_TARGET_DIR="$scratch/target-cli" cargo build --quiet --release -p omni-dbt-cli
  cli_s=$(seconds "$start" "$(now)")
  echo "   $cli_s s"
  ratios="$ratios cli_release_build/bare_client_build=$(python3 -c "print(f'{$cli_s / $bare_s:.2f}')")"
fi

echo "build-times bare_client=${bare_s}s quickstart=${quickstart_s}s${cli_s:+ cli_release=${cli_s}s}"
echo "build-times $ratios"
