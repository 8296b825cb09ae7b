// The Rust guest (Debian's rustc 1.63, wasm32-wasi, built by
// scripts/run-guests.sh): std::env, std::fs, std::io and std::process over
// WASI, on the pre-opened /sb.
use std::env;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::process;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    println!("args: {:?}", args);
    let mut vars: Vec<(String, String)> = env::vars().collect();
    vars.sort();
    println!("vars: {:?}", vars);

    let mut input = String::new();
    io::stdin().read_to_string(&mut input).unwrap();
    println!("stdin: {} lines, last {:?}", input.lines().count(), input.lines().last());

    fs::create_dir_all("/sb/rust/a/b").unwrap();
    fs::write("/sb/rust/a/f.txt", b"rust data").unwrap();
    println!("read back: {}", fs::read_to_string("/sb/rust/a/f.txt").unwrap());
    let md = fs::metadata("/sb/rust/a/f.txt").unwrap();
    println!("len {} file {} dir {}", md.len(), md.is_file(), md.is_dir());
    println!("modified after 2020: {}", md.modified().unwrap() > UNIX_EPOCH + std::time::Duration::from_secs(1_577_836_800));

    let mut f = OpenOptions::new().read(true).append(true).open("/sb/rust/a/f.txt").unwrap();
    f.write_all(b" appended").unwrap();
    f.seek(SeekFrom::Start(5)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    println!("from offset 5: {}", s);
    drop(f);

    fs::rename("/sb/rust/a/f.txt", "/sb/rust/a/b/g.txt").unwrap();
    fs::copy("/sb/rust/a/b/g.txt", "/sb/rust/a/copy.txt").unwrap();
    let mut names: Vec<String> = fs::read_dir("/sb/rust/a")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!("read_dir: {:?}", names);

    match fs::read("/sb/nonexistent") {
        Ok(_) => println!("nonexistent: read?"),
        Err(e) => println!("nonexistent: {:?}", e.kind()),
    }
    match fs::read("/etc/passwd") {
        Ok(_) => println!("/etc/passwd: READ"),
        Err(_) => println!("/etc/passwd: not reachable"),
    }
    match fs::create_dir("/sb/rust") {
        Ok(_) => println!("create_dir existing: ok?"),
        Err(e) => println!("create_dir existing: {:?}", e.kind()),
    }

    fs::remove_dir_all("/sb/rust").unwrap();
    println!("removed: {}", !std::path::Path::new("/sb/rust").exists());

    let t0 = Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    println!("slept at least 4 ms: {}", t0.elapsed().as_millis() >= 4);
    println!("system time after 2020: {}", SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() > 1_577_836_800);

    eprintln!("to stderr");
    io::stdout().flush().unwrap();
    process::exit(7);
}
