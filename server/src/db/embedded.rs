//! The embedded default: a private PostgreSQL cluster started from the installed binaries in a
//! local folder, for `docket demo` (and for the tests on a machine with no Postgres running).
//!
//! PostgreSQL refuses to run as root, so when Docket runs as root the cluster's folder is handed
//! to the `postgres` system user and every Postgres command runs as that user.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// A running private cluster, listening on 127.0.0.1 only, with trust authentication.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    /// The uid/gid Postgres runs as when we are root.
    run_as: Option<(u32, u32)>,
}

impl EmbeddedPostgres {
    /// Starts (initialising on first use) the cluster in `dir`, or reuses it if already running.
    pub fn start(dir: &Path, port: u16) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let run_as = if is_root()? {
            Some(postgres_user()?)
        } else {
            None
        };
        let pg = Self {
            bin_dir,
            data_dir: dir.join("data"),
            port,
            run_as,
        };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .with_context(|| format!("handing {} to the postgres user", dir.display()))?;
            check_traversable(&dir)?;
        }
        if !pg.data_dir.join("PG_VERSION").exists() {
            pg.run(
                "initdb",
                &[
                    "-D",
                    path_str(&pg.data_dir)?,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                ],
            )?;
        }
        if pg
            .run("pg_ctl", &["-D", path_str(&pg.data_dir)?, "status"])
            .is_err()
        {
            // TCP on loopback only; no Unix socket, whose path length limit a deep folder breaks.
            let options =
                format!("-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''");
            let log = pg.data_dir.join("server.log");
            pg.run(
                "pg_ctl",
                &[
                    "-D",
                    path_str(&pg.data_dir)?,
                    "-l",
                    path_str(&log)?,
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    &options,
                    "start",
                ],
            )?;
        }
        Ok(pg)
    }

    /// A connection string for `user` to `database` on this cluster.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `database` if it does not exist yet.
    pub fn create_database(&self, database: &str) -> anyhow::Result<()> {
        let exists = self.output(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-tAc",
                &format!("select 1 from pg_database where datname = '{database}'"),
            ],
        )?;
        if exists.trim() != "1" {
            self.run(
                "createdb",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    database,
                ],
            )?;
        }
        Ok(())
    }

    /// Stops the cluster (fast shutdown: open sessions are ended, data is flushed).
    pub fn stop(&self) -> anyhow::Result<()> {
        self.run(
            "pg_ctl",
            &["-D", path_str(&self.data_dir)?, "-m", "fast", "-w", "stop"],
        )
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        command.args(args).stdin(Stdio::null()).current_dir("/");
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid).env("HOME", &self.data_dir);
        }
        command
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let output = self
            .command(program, args)
            .output()
            .with_context(|| format!("running {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn output(&self, program: &str, args: &[&str]) -> anyhow::Result<String> {
        let output = self
            .command(program, args)
            .output()
            .with_context(|| format!("running {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// The newest installed PostgreSQL's binaries: `DOCKET_PG_BIN`, else Debian's
/// `/usr/lib/postgresql/<version>/bin`.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKET_PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "no PostgreSQL server binaries found under /usr/lib/postgresql; install them \
             (`apt-get install postgresql`) or set DATABASE_URL to an existing server"
        ),
    }
}

fn is_root() -> anyhow::Result<bool> {
    Ok(std::fs::metadata("/proc/self")?.uid() == 0)
}

/// The uid and gid of the `postgres` system user, from /etc/passwd.
fn postgres_user() -> anyhow::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .context("running as root, PostgreSQL needs the `postgres` system user (apt-get install postgresql creates it)")
}

/// The postgres user must be able to reach its folder through every parent.
fn check_traversable(dir: &Path) -> anyhow::Result<()> {
    for parent in dir.ancestors().skip(1) {
        let mode = std::fs::metadata(parent)?.mode();
        if mode & 0o001 == 0 {
            bail!(
                "{} is not searchable by other users, so the postgres user cannot reach {}; \
                 run from a folder under a world-searchable path or set DATABASE_URL",
                parent.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("path is not UTF-8")
}
