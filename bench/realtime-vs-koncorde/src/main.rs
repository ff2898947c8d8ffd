//! Benchmark of the realtime engine against koncorde 4.7.0, on the same filters and documents.
//!
//! `generate DIR` writes one JSON file per keyword with 10,000 filters and 1,000 documents,
//! and one for `mixed`, 100,000 filters of several shapes that each match about 1% of its
//! documents.
//! `run DIR KEYWORD` registers that file's filters in a fresh engine, then matches the
//! documents in turn, and prints one JSON line of measures. Each keyword runs in a process of
//! its own so that the resident memory growth belongs to that keyword alone.
//! `report RUST NODE` turns the runs of both sides into a Markdown table, keeping the best run
//! of each keyword. `bench/realtime-vs-koncorde/run.sh` chains the three.

use std::fs;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use palisade_realtime::{EngineConfig, FilterEngine};
use serde_json::{Value, json};

const FILTERS: usize = 10_000;
/// Filters of the `mixed` case, which stands for a busy application rather than one keyword.
const MIXED_FILTERS: usize = 100_000;
const DOCUMENTS: usize = 1_000;
/// Matching runs for at least this long per keyword, over whole passes of the document pool.
const MATCH_TIME: Duration = Duration::from_secs(2);
/// Keywords measured, in report order; `run.sh` lists the same ones.
const KEYWORDS: &[&str] = &[
    "equals",
    "exists",
    "in",
    "range",
    "geoBoundingBox",
    "geoDistance",
    "geoDistanceRange",
    "geoPolygon",
    // Appended, so that adding them left the seeds, and so the data, of the others unchanged.
    "regexp",
    "mixed",
];

/// Deterministic pseudo-random numbers (SplitMix64), so runs compare the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn int(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low) as u64) as i64
    }

    fn float(&mut self, low: f64, high: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((low + unit * (high - low)) * 1e6).round() / 1e6
    }

    /// Returns a point of the benchmark's region, 40 to 50°N and 0 to 10°E, as `[lat, lon]`.
    fn point(&mut self) -> (f64, f64) {
        (self.float(40.0, 50.0), self.float(0.0, 10.0))
    }
}

/// Returns one filter of the `mixed` case. Each shape matches about 1% of the documents that
/// [`mixed_document`] writes. Equal filters share one id, so a document of the pool matches
/// 653 filter ids on average, both engines agreeing.
fn mixed_filter(rng: &mut Rng) -> Value {
    match rng.below(6) {
        // 1 name in 100.
        0 => json!({"equals": {"name": format!("n{}", rng.below(100))}}),
        // 5 values in 500.
        1 => {
            let values: Vec<String> = (0..5).map(|_| format!("s{}", rng.below(500))).collect();
            json!({"in": {"str": values}})
        }
        // 1 status in 5, and 1,000 integers in 20,000.
        2 => {
            let low = rng.int(-10_000, 9_000);
            json!({"and": [
                {"equals": {"status": format!("st{}", rng.below(5))}},
                {"range": {"integer": {"gte": low, "lt": low + 1_000}}}
            ]})
        }
        // A 56 km circle covers about 1.1 of the region's 100 square degrees.
        3 => {
            let (lat, lon) = rng.point();
            json!({"geoDistance": {"point": {"lat": lat, "lon": lon}, "distance": "56km"}})
        }
        // 1 flag field in 100.
        4 => json!({"exists": format!("f{}", rng.below(100))}),
        // 250 integers in 20,000, unless the status is the one excluded (4 in 5).
        _ => {
            let low = rng.int(-10_000, 9_750);
            json!({"bool": {
                "must": [{"range": {"integer": {"gte": low, "lt": low + 250}}}],
                "must_not": [{"equals": {"status": format!("st{}", rng.below(5))}}]
            }})
        }
    }
}

fn mixed_document(rng: &mut Rng) -> Value {
    let (lat, lon) = rng.point();
    let mut document = json!({
        "name": format!("n{}", rng.below(100)),
        "str": format!("s{}", rng.below(500)),
        "status": format!("st{}", rng.below(5)),
        "integer": rng.int(-10_000, 10_000),
        "point": {"lat": lat, "lon": lon},
    });
    document[format!("f{}", rng.below(100))] = json!(true);
    document
}

fn filter(rng: &mut Rng, keyword: &str) -> Value {
    match keyword {
        "mixed" => mixed_filter(rng),
        "equals" => json!({"equals": {"str": format!("v{}", rng.below(20_000))}}),
        "exists" => json!({"exists": format!("f{}", rng.below(20_000))}),
        "in" => {
            let values: Vec<String> = (0..5).map(|_| format!("v{}", rng.below(50_000))).collect();
            json!({"in": {"str": values}})
        }
        "range" => {
            let low = rng.int(-10_000, 10_000);
            json!({"range": {"integer": {"gte": low, "lte": low + 100}}})
        }
        "regexp" => {
            // Half anchored prefixes, half case-insensitive suffixes.
            let number = rng.below(2_000);
            if rng.below(2) == 0 {
                json!({"regexp": {"str": {"value": format!("^v{number}[0-9]$")}}})
            } else {
                json!({"regexp": {"str": {"value": format!("V{number}[0-9]$"), "flags": "i"}}})
            }
        }
        "geoBoundingBox" => {
            let (lat, lon) = rng.point();
            json!({"geoBoundingBox": {"point": {
                "top": lat, "left": lon, "bottom": lat - 0.5, "right": lon + 0.5
            }}})
        }
        "geoDistance" => {
            let (lat, lon) = rng.point();
            json!({"geoDistance": {"point": [lat, lon], "distance": "20km"}})
        }
        "geoDistanceRange" => {
            let (lat, lon) = rng.point();
            json!({"geoDistanceRange": {"point": [lat, lon], "from": "10km", "to": "30km"}})
        }
        _ => {
            // A star-shaped polygon: 5 vertices at increasing angles around a centre.
            let (lat, lon) = rng.point();
            let points: Vec<Value> = (0..5)
                .map(|i| {
                    let angle = (f64::from(i) + rng.float(0.0, 0.8)) * std::f64::consts::TAU / 5.0;
                    let radius = rng.float(0.1, 0.5);
                    json!([lat + radius * angle.sin(), lon + radius * angle.cos()])
                })
                .collect();
            json!({"geoPolygon": {"point": {"points": points}}})
        }
    }
}

fn document(rng: &mut Rng, keyword: &str) -> Value {
    match keyword {
        "mixed" => mixed_document(rng),
        "equals" | "regexp" => json!({"str": format!("v{}", rng.below(20_000))}),
        "in" => json!({"str": format!("v{}", rng.below(50_000))}),
        "exists" => {
            let fields: serde_json::Map<String, Value> = (0..3)
                .map(|_| (format!("f{}", rng.below(20_000)), json!(true)))
                .collect();
            Value::Object(fields)
        }
        "range" => json!({"integer": rng.int(-10_000, 10_000)}),
        _ => {
            let (lat, lon) = rng.point();
            json!({"point": [lat, lon]})
        }
    }
}

fn generate(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for (i, keyword) in KEYWORDS.iter().enumerate() {
        let mut rng = Rng(0xBE4C_0000 + i as u64);
        let count = if *keyword == "mixed" {
            MIXED_FILTERS
        } else {
            FILTERS
        };
        let filters: Vec<Value> = (0..count).map(|_| filter(&mut rng, keyword)).collect();
        let documents: Vec<Value> = (0..DOCUMENTS)
            .map(|_| document(&mut rng, keyword))
            .collect();
        let data = json!({"keyword": keyword, "filters": filters, "documents": documents});
        fs::write(dir.join(format!("{keyword}.json")), data.to_string())?;
    }
    Ok(())
}

/// Returns the resident set size of this process in bytes, from `/proc/self/statm`.
fn resident_bytes() -> u64 {
    let statm = fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn measure(data: &Value) -> Value {
    let filters = data["filters"].as_array().expect("filters array");
    let documents = data["documents"].as_array().expect("documents array");
    let resident_before = resident_bytes();
    let mut engine = FilterEngine::new(EngineConfig::default());

    let started = Instant::now();
    let ids: Vec<String> = filters
        .iter()
        .map(|f| {
            engine
                .register("bench", "c", f)
                .expect("benchmark filters are valid")
        })
        .collect();
    let register_seconds = started.elapsed().as_secs_f64();
    let resident_after = resident_bytes();

    // One pass counts the matches, so both engines can be checked to agree.
    let first_pass: usize = documents
        .iter()
        .map(|d| engine.matching_ids("bench", "c", d, None).len())
        .sum();

    let started = Instant::now();
    let mut tests = 0usize;
    while started.elapsed() < MATCH_TIME {
        for document in documents {
            std::hint::black_box(engine.matching_ids("bench", "c", document, None));
        }
        tests += documents.len();
    }
    let match_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    for id in &ids {
        engine.remove("bench", "c", id);
    }
    let remove_seconds = started.elapsed().as_secs_f64();

    json!({
        "keyword": data["keyword"],
        "filters": filters.len(),
        "registerPerSecond": filters.len() as f64 / register_seconds,
        "matchPerSecond": tests as f64 / match_seconds,
        "memoryBytes": resident_after.saturating_sub(resident_before),
        "removeSeconds": remove_seconds,
        "matchesFirstPass": first_pass,
    })
}

fn run(dir: &Path, keyword: &str, out: &mut impl Write) -> io::Result<()> {
    let data: Value = {
        let text = fs::read_to_string(dir.join(format!("{keyword}.json")))?;
        serde_json::from_str(&text)?
    };
    writeln!(out, "{}", measure(&data))
}

fn read_lines(path: &Path) -> io::Result<Vec<Value>> {
    let file = io::BufReader::new(fs::File::open(path)?);
    file.lines()
        .map(|line| Ok(serde_json::from_str(&line?)?))
        .collect()
}

/// Keeps the best run of each keyword: the highest rates and the lowest memory growth. On a
/// shared machine, the best of several runs is the one least disturbed by other work.
fn best_runs(runs: Vec<Value>) -> Vec<Value> {
    let mut best: Vec<Value> = Vec::new();
    for run in runs {
        let Some(kept) = best.iter_mut().find(|b| b["keyword"] == run["keyword"]) else {
            best.push(run);
            continue;
        };
        for key in ["registerPerSecond", "matchPerSecond"] {
            if run[key].as_f64() > kept[key].as_f64() {
                kept[key] = run[key].clone();
            }
        }
        if run["memoryBytes"].as_f64() < kept["memoryBytes"].as_f64() {
            kept["memoryBytes"] = run["memoryBytes"].clone();
        }
    }
    best
}

fn report(rust: &Path, node: &Path, out: &mut impl Write) -> io::Result<()> {
    let rust = best_runs(read_lines(rust)?);
    let node = best_runs(read_lines(node)?);
    writeln!(
        out,
        "| keyword | register/s Rust | register/s koncorde | ratio | match/s Rust | \
         match/s koncorde | ratio | memory Rust | memory koncorde | matches (first pass) |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")?;
    for (r, n) in rust.iter().zip(&node) {
        let number = |v: &Value, key: &str| v[key].as_f64().unwrap_or(0.0);
        let mib = |v: &Value| number(v, "memoryBytes") / (1024.0 * 1024.0);
        let (r_matches, n_matches) = (&r["matchesFirstPass"], &n["matchesFirstPass"]);
        let agreement = if r_matches == n_matches {
            format!("{r_matches} (same)")
        } else {
            format!("{r_matches} vs {n_matches} (DIFFERENT)")
        };
        writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.1}x | {:.0} | {:.0} | {:.1}x | {:.1} MiB | {:.1} MiB | {} |",
            r["keyword"].as_str().unwrap_or("?"),
            number(r, "registerPerSecond"),
            number(n, "registerPerSecond"),
            number(r, "registerPerSecond") / number(n, "registerPerSecond"),
            number(r, "matchPerSecond"),
            number(n, "matchPerSecond"),
            number(r, "matchPerSecond") / number(n, "matchPerSecond"),
            mib(r),
            mib(n),
            agreement,
        )?;
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut out = io::stdout().lock();
    match args.get(1..).unwrap_or_default() {
        [command, dir] if command == "generate" => generate(Path::new(dir)),
        [command, dir, keyword] if command == "run" => run(Path::new(dir), keyword, &mut out),
        [command, rust, node] if command == "report" => {
            report(Path::new(rust), Path::new(node), &mut out)
        }
        _ => {
            let usage = "usage: realtime-vs-koncorde generate DIR | run DIR KEYWORD | report RUST.jsonl NODE.jsonl";
            Err(io::Error::new(io::ErrorKind::InvalidInput, usage))
        }
    }
}
