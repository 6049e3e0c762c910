//! Command-line arguments (clap derive). Every flag has a doc comment; the
//! flags of the deployment guide (`--input`, `--output`, `--format darpa_tc`,
//! `--config`) keep their names.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// CausalDefend: finds APTs in host provenance, explains them, says how sure it is.
#[derive(Debug, Parser)]
#[command(name = "causaldefend", version, about, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output: no progress bar, warnings and errors only.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Audit log folder: every decision of detect, explain, calibrate,
    /// train-detector and review is recorded there (EU AI Act Article 12).
    #[arg(
        long,
        global = true,
        env = "CAUSALDEFEND_AUDIT_DIR",
        default_value = "audit_logs"
    )]
    pub audit_dir: PathBuf,
    /// User id written into audit records (default: $CAUSALDEFEND_USER, else $USER).
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// Session id written into audit records (default: one per run).
    #[arg(long, global = true)]
    pub session: Option<String>,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The subcommands, in pipeline order.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse host logs into time-windowed provenance graphs (Arrow IPC folder).
    #[command(after_help = "Examples:
  causaldefend preprocess --input audit.log.gz --output data/processed --format auditd
  causaldefend preprocess --input logs/ --output data/processed --format auto --json
  causaldefend preprocess --input ta1-cadets-e3.json --output data/cadets --format darpa_tc --window-secs 60
  causaldefend preprocess --input sysmon.evtx --output data/win --format sysmon-evtx --strict")]
    Preprocess(PreprocessArgs),
    /// Print the summary of a preprocessed folder.
    #[command(after_help = "Examples:
  causaldefend inspect data/processed
  causaldefend inspect data/processed --json")]
    Inspect(InspectArgs),
    /// Write a preprocessed folder in other tools' formats.
    #[command(after_help = "Examples:
  causaldefend export data/processed --to streamspot --output graphs.tsv
  causaldefend export data/processed --to graphml --output graphs.graphml
  causaldefend export data/processed --to jsonl > graphs.jsonl")]
    Export(ExportArgs),
    /// Measure ingest throughput and peak memory.
    #[command(after_help = "Examples:
  causaldefend bench ingest --input audit.log --format auditd
  causaldefend bench ingest --input sysmon.jsonl --format sysmon-json --json")]
    Bench(BenchArgs),
    /// Train the graph autoencoder detector on benign logs.
    #[command(after_help = "Examples:
  causaldefend train-detector --data ../shared/data/auditd --output models/detector.ckpt
  causaldefend train-detector --data data/processed --output models/detector.ckpt \\
      --config config/train_config.yaml --epochs 20 --batch-size 8 --gpus 0")]
    TrainDetector(TrainDetectorArgs),
    /// Calibrate a detector's scores on held-out data (conformal prediction).
    #[command(after_help = "Examples:
  causaldefend calibrate --detector models/detector.ckpt --calibration-data data/heldout \\
      --output models/conformal_calibration.json --confidence-level 0.95")]
    Calibrate(CalibrateArgs),
    /// Score logs with a trained detector; one JSON line per window.
    #[command(after_help = "Examples:
  causaldefend detect --model models/detector.ckpt --input audit.log.gz --format auditd
  causaldefend detect --model models/detector.ckpt --input data/processed --output alerts.jsonl")]
    Detect(DetectArgs),
    /// Explain alerts: reduced graph, causal graph, attack chains, ATT&CK techniques, narrative, counterfactuals.
    #[command(after_help = "Examples:
  causaldefend detect --model models/detector.ckpt --input audit.log.gz --output alerts.jsonl
  causaldefend explain --input audit.log.gz --alerts alerts.jsonl --output explanations/
  causaldefend explain --input audit.log.gz --seed-entity pid:25398 --output explanations/")]
    Explain(ExplainArgs),
    /// Train the neural conditional-independence tester of causal discovery and compare it with Fisher-z and the G-test.
    #[command(after_help = "Examples:
  causaldefend train-ci-tester --data ../shared/data/auditd --output models/ci_tester.ckpt
  causaldefend train-ci-tester --data logs/ --output models/ci_tester.ckpt --epochs 5 --batch-size 256")]
    TrainCiTester(TrainCiTesterArgs),
    /// Replace the ATT&CK technique table with one converted from MITRE's STIX bundle.
    #[command(after_help = "Examples:
  causaldefend update-attack --bundle enterprise-attack-18.1.json --output data/attack/attack-patterns-lookup-v18.1.json.gz")]
    UpdateAttack(UpdateAttackArgs),
    /// Write the model card (EU AI Act Article 11) of a checkpoint, as JSON and Markdown.
    #[command(after_help = "Examples:
  causaldefend model-card --model models/detector.ckpt --output compliance/model_card.json
  causaldefend model-card --model models/detector.ckpt --declared config/model_card.yaml --evaluation results/auditd.json")]
    ModelCard(ModelCardArgs),
    /// Record an analyst's verdict on an alert (EU AI Act Article 14).
    #[command(after_help = "Examples:
  causaldefend review 3f9c0a1b2c3d4e5f --verdict confirmed --comment \"credential dumping\" --user alice")]
    Review(ReviewArgs),
    /// Timestamp the audit records since the last anchor with an RFC 3161 authority.
    #[command(after_help = "Examples:
  causaldefend anchor --tsa-url http://timestamp.example/tsr")]
    Anchor(AnchorArgs),
    /// Check Articles 11-15: model card, audit chain and anchors, transparency, oversight, accuracy.
    #[command(after_help = "Examples:
  causaldefend verify-compliance --model-card compliance/model_card.json --audit-logs audit_logs --output compliance_report.json")]
    VerifyCompliance(VerifyComplianceArgs),
    /// Delete audit records past the retention period (the chain stays verifiable).
    #[command(after_help = "Examples:
  causaldefend audit-retention --days 365")]
    AuditRetention(RetentionArgs),
    /// Train, score and report detection quality over several seeds, with a baseline.
    #[command(after_help = "Examples:
  causaldefend evaluate --dataset auditd --data ../shared/data/auditd --seeds 3 --output results/auditd.json
  causaldefend evaluate --dataset streamspot --data streamspot/ --epochs 5 --output results/streamspot.json
  causaldefend evaluate --dataset darpa-tc --data cadets-e3/ --format darpa_tc --output results/cadets.json")]
    Evaluate(EvaluateArgs),
}

/// Input log format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Linux auditd, raw or ENRICHED.
    Auditd,
    /// Windows EVTX (Sysmon, Security).
    SysmonEvtx,
    /// Windows events as JSON lines (Winlogbeat, NXLog, OTRF).
    SysmonJson,
    /// DARPA TC CDM JSON (13, 18, 20).
    #[value(name = "darpa_tc", alias = "darpa-tc", alias = "cdm")]
    DarpaTc,
    /// StreamSpot TSV edges.
    Streamspot,
    /// Detect per file.
    Auto,
}

impl From<FormatArg> for ingest::InputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Auditd => Self::Auditd,
            FormatArg::SysmonEvtx => Self::SysmonEvtx,
            FormatArg::SysmonJson => Self::SysmonJson,
            FormatArg::DarpaTc => Self::DarpaTc,
            FormatArg::Streamspot => Self::StreamSpot,
            FormatArg::Auto => Self::Auto,
        }
    }
}

/// Inputs and parsing switches shared by `preprocess` and `bench ingest`.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Log file, folder (read recursively, sorted) or `.gz`/`.zst` file.
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Input log format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// YAML config with `ingest:` and `windowing:` sections (see config/ingest_config.yaml).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Stop at the first malformed record instead of counting and skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Host name for logs that do not carry one.
    #[arg(long)]
    pub host: Option<String>,
}

/// `preprocess` arguments.
#[derive(Debug, Args)]
pub struct PreprocessArgs {
    /// What to read.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output folder (created; existing window files are replaced).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Window length in seconds (overrides the config).
    #[arg(long)]
    pub window_secs: Option<f64>,
    /// Cut windows by event count instead of time (overrides the config).
    #[arg(long, conflicts_with = "window_secs")]
    pub window_events: Option<usize>,
    /// Print the closing summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `inspect` arguments.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A folder written by `preprocess`.
    pub dir: PathBuf,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also list every window (id, start, end, events, nodes).
    #[arg(long)]
    pub windows: bool,
}

/// Export targets.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportTo {
    /// StreamSpot edges: `src src_type dst dst_type edge_type graph_id`, one graph per window.
    Streamspot,
    /// GraphML, one graph per window.
    Graphml,
    /// JSON lines, node and edge records.
    Jsonl,
}

/// `export` arguments.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A folder written by `preprocess`.
    pub dir: PathBuf,
    /// Target format.
    #[arg(long, value_enum)]
    pub to: ExportTo,
    /// Output file (stdout when absent).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

/// `bench` arguments.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub what: BenchWhat,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// Parse (and window) an input, report events/s, MB/s and peak RSS.
    Ingest(BenchIngestArgs),
    /// Detection latency on a synthetic window, and end-to-end detect throughput on logs.
    Detect(BenchDetectArgs),
}

/// `bench detect` arguments.
#[derive(Debug, Args)]
pub struct BenchDetectArgs {
    /// Checkpoint to time (default: an untrained model with the default config, same cost).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Nodes of the synthetic window.
    #[arg(long, default_value_t = 10_000)]
    pub nodes: usize,
    /// Edges of the synthetic window.
    #[arg(long, default_value_t = 50_000)]
    pub edges: usize,
    /// Timed repetitions.
    #[arg(long, default_value_t = 20)]
    pub repeats: usize,
    /// Raw logs to run end-to-end detection on (parse, window, score), timed.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Format of `--input`.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Print the figures as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `bench ingest` arguments.
#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    /// What to read.
    #[command(flatten)]
    pub input: InputArgs,
    /// Parse only; do not cut windows.
    #[arg(long)]
    pub parse_only: bool,
    /// Print the figures as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Detector hyper-parameter flags (each overrides the config file).
#[derive(Debug, Args)]
pub struct TrainFlags {
    /// Detector config (YAML). Default: `config/train_config.yaml` when it exists, else built-in defaults.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Most training epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Windows per optimiser step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Seed (initialisation, shuffling, negative sampling).
    #[arg(long)]
    pub seed: Option<u64>,
    /// GPUs to use (0: CPU). Needs a build with `--features cuda`.
    #[arg(long, default_value_t = 0)]
    pub gpus: u32,
    /// Format of raw inputs.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Ingest config (YAML) for raw inputs.
    #[arg(long)]
    pub ingest_config: Option<PathBuf>,
}

/// `train-detector` arguments.
#[derive(Debug, Args)]
pub struct TrainDetectorArgs {
    /// Benign training data: preprocessed folders, log files, or folders of them (one sequence per recording).
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Checkpoint to write (safetensors with metadata).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Hyper-parameters.
    #[command(flatten)]
    pub train: TrainFlags,
    /// Also train on recordings whose truth.json says `attack` (skipped by default: the model must learn benign behaviour).
    #[arg(long)]
    pub include_attacks: bool,
    /// Print the closing summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `detect` arguments.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Checkpoint written by `train-detector`.
    #[arg(long)]
    pub model: PathBuf,
    /// Logs (file or folder) or a preprocessed folder.
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Format of raw inputs.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Ingest config (YAML) for raw inputs.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Alerts file (JSON lines); stdout when absent.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Anomalous entities listed per window.
    #[arg(long, default_value_t = 10)]
    pub top_k: usize,
    /// GPUs to use (0: CPU).
    #[arg(long, default_value_t = 0)]
    pub gpus: u32,
    /// Conformal calibration (default: `conformal_calibration.json` beside the model, when present).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Confidence level of the prediction sets (default: the calibration file's).
    #[arg(long)]
    pub confidence_level: Option<f64>,
    /// Escalation policy (YAML with an `escalation:` section). Default: `config/api_config.yaml` when it exists.
    #[arg(long)]
    pub api_config: Option<PathBuf>,
    /// Alert threshold on the window score, instead of the model's (from its
    /// benign validation scores): lower finds more, with more false alarms.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Explain every alert and add the explanation to its line (as `explanation`).
    /// Streaming: an alert is explained with what has arrived by the end of its window.
    #[arg(long)]
    pub explain: bool,
    /// Explanation settings (YAML) for `--explain`. Default: `config/explain_config.yaml` when it exists.
    #[arg(long)]
    pub explain_config: Option<PathBuf>,
}

/// `explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The logs (file or folder) or preprocessed folder the alerts came from.
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Alerts written by `detect` (JSON lines); windows with `alert: true` are explained.
    #[arg(long)]
    pub alerts: Option<PathBuf>,
    /// Start from this entity instead of (or besides) alerts: 16 hex digits
    /// (an entity id of `detect`), `pid:N`, a Sysmon ProcessGuid, a CDM UUID,
    /// or an exact path or executable. Repeatable.
    #[arg(long)]
    pub seed_entity: Vec<String>,
    /// Folder for the explanations: `<input>-w<window>.{json,md,dot,graphml}` and `explanations.jsonl`.
    #[arg(long, short = 'o', default_value = "explanations")]
    pub output: PathBuf,
    /// Format of raw inputs.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Ingest config (YAML) for raw inputs.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Explanation settings (YAML). Default: `config/explain_config.yaml` when it exists.
    #[arg(long)]
    pub explain_config: Option<PathBuf>,
    /// Extra ATT&CK mapping rules (YAML), on top of the shipped ones. Repeatable.
    #[arg(long)]
    pub rules: Vec<PathBuf>,
    /// ATT&CK technique table (default: the shipped Enterprise table).
    #[arg(long)]
    pub attack_table: Option<PathBuf>,
    /// CI test of causal discovery: fisher-z, g-test, chi-square or neural (default: the config's).
    #[arg(long)]
    pub ci_test: Option<String>,
    /// Neural CI tester checkpoint (for `--ci-test neural`; default `models/ci_tester.ckpt`).
    #[arg(long)]
    pub ci_tester: Option<PathBuf>,
}

/// `train-ci-tester` arguments.
#[derive(Debug, Args)]
pub struct TrainCiTesterArgs {
    /// Benign logs (file or folder) whose entities' activity series make the provenance training cases (attack recordings are left out).
    #[arg(long)]
    pub data: PathBuf,
    /// Checkpoint to write; the comparison report goes beside it (`.report.json`).
    #[arg(long, short = 'o', default_value = "models/ci_tester.ckpt")]
    pub output: PathBuf,
    /// Tester config (YAML with the keys of `NeuralCiConfig`); defaults otherwise.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Epochs (overrides the config).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size (overrides the config).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Training cases (overrides the config).
    #[arg(long)]
    pub train_cases: Option<usize>,
    /// Seed (overrides the config).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Held-out cases for the comparison with Fisher-z and the G-test.
    #[arg(long, default_value_t = 1000)]
    pub eval_cases: usize,
    /// Significance level of the comparison.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Width of the activity bins of the real series, seconds.
    #[arg(long, default_value_t = 0.25)]
    pub bin_secs: f64,
    /// Format of raw inputs.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Ingest config (YAML) for raw inputs.
    #[arg(long)]
    pub ingest_config: Option<PathBuf>,
}

/// `model-card` arguments.
#[derive(Debug, Args)]
pub struct ModelCardArgs {
    /// Checkpoint written by `train-detector`.
    #[arg(long)]
    pub model: PathBuf,
    /// Card to write (JSON); the Markdown rendering goes beside it.
    #[arg(long, short = 'o', default_value = "compliance/model_card.json")]
    pub output: PathBuf,
    /// Fields only people can declare (YAML). Default: `config/model_card.yaml` when it exists.
    #[arg(long)]
    pub declared: Option<PathBuf>,
    /// `evaluate` result files (JSON). Default: `results/auditd.json`, `results/windows.json`,
    /// `results/explain_auditd.json`, those that exist.
    #[arg(long)]
    pub evaluation: Vec<PathBuf>,
    /// Conformal calibration (default: `conformal_calibration.json` beside the model, when present).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
}

/// An analyst's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verdict {
    /// A real attack (label `attack`).
    Confirmed,
    /// A false alarm (label `benign`).
    Dismissed,
    /// Handed on to a senior analyst or incident response.
    Escalated,
}

/// `review` arguments.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The alert's `alert_id` (from `detect`).
    pub alert_id: String,
    /// The verdict.
    #[arg(long, value_enum)]
    pub verdict: Verdict,
    /// Why.
    #[arg(long)]
    pub comment: Option<String>,
}

/// `anchor` arguments.
#[derive(Debug, Args)]
pub struct AnchorArgs {
    /// RFC 3161 time-stamping authority (HTTP URL).
    #[arg(long, env = "CAUSALDEFEND_AUDIT__TSA_URL")]
    pub tsa_url: String,
}

/// `audit-retention` arguments.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Keep records younger than this many days.
    #[arg(long, env = "CAUSALDEFEND_AUDIT__RETENTION_DAYS")]
    pub days: u32,
}

/// `verify-compliance` arguments.
#[derive(Debug, Args)]
pub struct VerifyComplianceArgs {
    /// Model card written by `model-card` (JSON).
    #[arg(long)]
    pub model_card: Option<PathBuf>,
    /// The audit log folder.
    #[arg(long, default_value = "audit_logs")]
    pub audit_logs: PathBuf,
    /// The report to write (JSON).
    #[arg(long, short = 'o', default_value = "compliance_report.json")]
    pub output: PathBuf,
    /// Public key of the audit signer (default: `signing_key.pub.pem` in the audit folder).
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// CA certificate of the time-stamping authority, to verify anchor signatures.
    #[arg(long)]
    pub tsa_ca: Option<PathBuf>,
    /// Retention period: records older than this many days must have been deleted.
    #[arg(long)]
    pub retention_days: Option<u32>,
    /// Escalation policy (default `config/api_config.yaml`).
    #[arg(long)]
    pub api_config: Option<PathBuf>,
}

/// `update-attack` arguments.
#[derive(Debug, Args)]
pub struct UpdateAttackArgs {
    /// MITRE's `enterprise-attack-<version>.json` STIX 2.1 bundle.
    #[arg(long)]
    pub bundle: PathBuf,
    /// Technique table to write (gzip JSON); pass it to `explain --attack-table`,
    /// or replace the shipped one under `data/attack/` and rebuild.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

/// Online adaptation of the calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdaptivityArg {
    /// Fixed calibration.
    None,
    /// Adaptive conformal inference (needs reviewed labels as feedback).
    Aci,
    /// Rolling window of recent windows decided benign.
    Rolling,
}

/// `calibrate` arguments.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Checkpoint written by `train-detector`.
    #[arg(long)]
    pub detector: PathBuf,
    /// Held-out data (not used in training): benign recordings, and attack recordings with truth.json for class-conditional calibration.
    #[arg(long, required = true, num_args = 1..)]
    pub calibration_data: Vec<PathBuf>,
    /// Calibration file to write (default: `conformal_calibration.json` beside the detector).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Default confidence level of prediction sets (1 - alpha).
    #[arg(long, default_value_t = 0.95)]
    pub confidence_level: f64,
    /// How `detect` adapts the calibration to drift.
    #[arg(long, value_enum, default_value_t = AdaptivityArg::Rolling)]
    pub adaptivity: AdaptivityArg,
    /// ACI step size.
    #[arg(long, default_value_t = 0.005)]
    pub gamma: f64,
    /// Rolling calibration size (windows).
    #[arg(long, default_value_t = 500)]
    pub rolling_window: usize,
    /// Format of raw inputs.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Ingest config (YAML) for raw inputs.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}

/// Datasets `evaluate` knows how to label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DatasetArg {
    /// The shared auditd recordings (benign_* and attack_* folders with truth.json).
    Auditd,
    /// The shared Windows set (files labelled in labels.csv): file-level ranking.
    Windows,
    /// StreamSpot, supplied by the user: the edge file (all.tsv) and
    /// labels.csv (graph_id,scenario,label); graph-level figures.
    #[value(name = "streamspot")]
    StreamSpot,
    /// DARPA TC, supplied by the user: train/ and test/ CDM files and
    /// labels.csv of malicious node UUIDs; window- and node-level figures.
    #[value(name = "darpa-tc", alias = "darpa_tc")]
    DarpaTc,
}

impl DatasetArg {
    /// The `--dataset` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auditd => "auditd",
            Self::Windows => "windows",
            Self::StreamSpot => "streamspot",
            Self::DarpaTc => "darpa-tc",
        }
    }
}

/// What `evaluate` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Detection quality over seeds against the baseline, and conformal coverage.
    Detect,
    /// Explanation quality: attack-entity recall and precision, reduction, ATT&CK hit rate, time.
    Explain,
}

/// `evaluate` arguments.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Which dataset (decides the split and the labels).
    #[arg(long, value_enum)]
    pub dataset: DatasetArg,
    /// The dataset's folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Seeds to train and score with (each a full run).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Results file (JSON); a Markdown rendering is written beside it.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// What to evaluate: the detector (and its calibration) or the explanations.
    #[arg(long, value_enum, default_value_t = TaskArg::Detect)]
    pub task: TaskArg,
    /// Detector checkpoint whose alerts `--task explain` explains (default
    /// `models/detector.ckpt` when it exists).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Per-window and per-process scores of the first seed (JSON lines), so
    /// every figure can be traced to the windows and processes behind it.
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// More recordings of the same dataset (auditd only), split with the
    /// others by the same rules: benign hours recorded with
    /// `scripts/record_auditd.py`, for example `data/auditd-extra`.
    #[arg(long)]
    pub extra_data: Vec<PathBuf>,
    /// Where `--dataset streamspot` writes its per-graph split of the edge
    /// file (a temporary folder, removed afterwards, when absent).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Hyper-parameters.
    #[command(flatten)]
    pub train: TrainFlags,
}
