import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { IPolicyValidationPlugin } from 'aws-cdk-lib';
import { RULE_SLUGS } from './rules';

/** The package's version (package.json), which a test keeps equal to tablesafe's. */
export const VERSION: string = require('../package.json').version;

/** How tablesafe is installed: the end of every line that says the app was not checked. */
export const INSTALL_HINT =
  `install tablesafe ${VERSION} (Python 3.11+): \`pip install <a tablesafe checkout or wheel>\` ` +
  '(its README, "Install"), or pass `command` to TableSafetyValidator';

/**
 * The rule name of the violation that says tablesafe did not check the app. Its severity is
 * `fatal`, which CDK never lets an acknowledgment silence.
 */
export const NOT_CHECKED = 'not-checked';
/** The rule name of an input tablesafe could not read (fatal too: that input was not checked). */
export const INPUT_ERROR = 'input-error';

const DEFAULT_TIMEOUT_SECONDS = 120;
const MAX_REPORT_BYTES = 64 * 1024 * 1024;
/** Characters of the command's own output quoted in a failure line. */
const MAX_QUOTED = 200;
/** The exit codes of `tablesafe check` that come with a report: passed, findings, input errors. */
const REPORTING_EXIT_CODES: ReadonlySet<number> = new Set([0, 1, 2]);
const SEVERITIES: ReadonlySet<string> = new Set(['error', 'warning', 'info']);

export interface TableSafetyValidatorProps {
  /**
   * The tablesafe command line to run, as program and leading arguments.
   * @default ['tablesafe']
   */
  readonly command?: string[];
  /** A `.tablesafe.yaml`. @default the one tablesafe finds from the working directory up */
  readonly config?: string;
  /** A `tablesafe.lock.json`. @default the one tablesafe finds from the working directory up */
  readonly lock?: string;
  /** The lowest severity that fails the synth, as `tablesafe check --fail-on`. @default 'error' */
  readonly failOn?: 'error' | 'warning' | 'never';
  /**
   * How long `tablesafe check` may run: past it, it is stopped and the synth fails. A
   * `Duration` of aws-cdk-lib (any copy: only its toSeconds() is called).
   * @default Duration.seconds(120)
   */
  readonly timeout?: { toSeconds(options?: { integral?: boolean }): number };
}

/*
 * What the plugin reads of CDK's validation context and writes into its report, declared
 * here instead of imported from aws-cdk-lib: TypeScript resolves this package's imports
 * from where the package lies, which after a path install (`npm install ./packages/cdk`)
 * is the package's development copy of aws-cdk-lib; the app's aws-cdk-lib, of any
 * supported version, matches these by shape. A resource always names a template path and a
 * logical ID (possibly empty), as aws-cdk-lib 2.251 requires.
 */

/** What validate() reads of CDK's IPolicyValidationContext. */
export interface ValidationContext {
  readonly templatePaths: string[];
}

/** CDK's PolicyViolatingResource as this plugin fills it. */
export interface ViolatingResource {
  readonly resourceLogicalId: string;
  readonly templatePath: string;
  readonly locations: string[];
}

/** CDK's PolicyViolation as this plugin fills it. */
export interface Violation {
  readonly ruleName: string;
  readonly description: string;
  readonly severity: string;
  readonly fix?: string;
  readonly violatingResources: ViolatingResource[];
}

/** CDK's PolicyValidationPluginReport as this plugin fills it. */
export interface ValidationReport {
  readonly success: boolean;
  readonly violations: Violation[];
  readonly pluginVersion: string;
  readonly metadata?: { readonly [key: string]: string };
}

/** One finding of `tablesafe check --format json`: the fields this plugin reads. */
interface JsonFinding {
  rule_id: string;
  rule: string;
  severity: string;
  message: string;
  logical_id: string | null;
  replica_region: string | null;
  file: string | null;
  remediation: string | null;
  remediation_code?: { cdk_typescript?: string; cli?: string };
  suppressed: boolean;
}

/** One input tablesafe could not read. */
interface JsonError {
  path: string;
  problem: string;
}

/** The report of `tablesafe check --format json`, its shape checked. */
interface CheckReport {
  findings: JsonFinding[];
  errors: JsonError[];
}

/** Why tablesafe gave no report to judge the app by: the cause, one line. */
class NotChecked extends Error {}

/**
 * The tablesafe rules as a CDK policy-validation plugin, for TypeScript and every jsii
 * language that installs from npm:
 *
 *     Validations.of(app).addPlugins(new TableSafetyValidator());
 *
 * CDK calls it once, after synthesis; it runs `tablesafe check --format json` on the cloud
 * assembly that holds the templates (so construct paths, nested stacks and the analytics
 * props are known) and reports each unsuppressed finding as a violation named by its rule
 * id, with the full message, the fix and its TypeScript code, the template and the logical
 * ID.
 *
 * It fails closed: when tablesafe is missing, fails, hangs past `timeout`, is killed or
 * prints something that is not its report, the report holds one `fatal` violation
 * (NOT_CHECKED) whose description names the cause and how to install tablesafe. The
 * validator never throws from validate(): the CDK CLI reads a thrown error as a failed
 * report without violations, and counts such a report as a success.
 */
export class TableSafetyValidator implements IPolicyValidationPlugin {
  public readonly name = 'tablesafe';
  public readonly version = VERSION;
  public readonly ruleIds = [...Object.keys(RULE_SLUGS), NOT_CHECKED, INPUT_ERROR];
  private readonly command: string[];
  private readonly timeoutSeconds: number;

  constructor(private readonly props: TableSafetyValidatorProps = {}) {
    this.command = props.command ?? ['tablesafe'];
    if (this.command.length === 0) {
      throw new Error('TableSafetyValidator: command must name a program');
    }
    this.timeoutSeconds = props.timeout?.toSeconds({ integral: false }) ?? DEFAULT_TIMEOUT_SECONDS;
    if (!(this.timeoutSeconds > 0) || !Number.isFinite(this.timeoutSeconds)) {
      throw new Error('TableSafetyValidator: timeout must be a positive duration');
    }
  }

  public validate(context: ValidationContext): ValidationReport {
    // The whole app, not one of its resources: empty logical ID, so no construct is named.
    const wholeApp: ViolatingResource = { resourceLogicalId: '', templatePath: context.templatePaths[0] ?? '', locations: [] };
    try {
      if (context.templatePaths.length === 0) {
        return { success: true, violations: [], pluginVersion: VERSION };
      }
      const { status, report } = this.check(context.templatePaths);
      const violations: Violation[] = [
        ...report.errors.map((error) => inputError(error, wholeApp)),
        ...report.findings.filter((finding) => !finding.suppressed).map((finding) => violation(finding, wholeApp)),
      ];
      const success = status === 0 && report.errors.length === 0;
      if (!success && violations.length === 0) {
        throw new NotChecked(`${this.shownCommand} exited ${status} but its report holds no finding or error`);
      }
      return { success, violations, pluginVersion: VERSION };
    } catch (error) {
      const cause = error instanceof NotChecked ? error.message : `${this.shownCommand} failed: ${neutralize(String(error))}`;
      return notChecked(`${cause}; ${INSTALL_HINT}`, wholeApp);
    }
  }

  private get shownCommand(): string {
    return `\`${neutralize(this.command[0])} check\``;
  }

  /** Runs `tablesafe check` on the assemblies of these templates; its exit code and report. */
  private check(templatePaths: string[]): { status: number; report: CheckReport } {
    const [program, ...leading] = this.command;
    const args = [...leading, 'check', ...assemblyInputs(templatePaths), '--format', 'json'];
    args.push('--fail-on', this.props.failOn ?? 'error');
    if (this.props.config) args.push('--config', this.props.config);
    if (this.props.lock) args.push('--lock', this.props.lock);
    const run = spawnSync(program, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: this.timeoutSeconds * 1000,
      killSignal: 'SIGKILL', // a hung child may ignore SIGTERM, and spawnSync waits for it to end
      maxBuffer: MAX_REPORT_BYTES,
    });
    if (run.error) {
      throw new NotChecked(this.runProblem(run.error as NodeJS.ErrnoException));
    }
    if (run.status === null) {
      throw new NotChecked(`${this.shownCommand} was killed by ${run.signal} before it reported`);
    }
    const said = quoted(lastLine(run.stderr) || lastLine(run.stdout));
    if (!REPORTING_EXIT_CODES.has(run.status)) {
      throw new NotChecked(`${this.shownCommand} exited ${run.status}${said}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(run.stdout);
    } catch {
      throw new NotChecked(`${this.shownCommand} exited ${run.status} without a JSON report${said}`);
    }
    const problem = reportProblem(parsed);
    if (problem !== undefined) {
      throw new NotChecked(`${this.shownCommand} printed JSON that is not a tablesafe report: ${problem}`);
    }
    return { status: run.status, report: parsed as CheckReport };
  }

  private runProblem(error: NodeJS.ErrnoException): string {
    const program = neutralize(this.command[0]);
    switch (error.code) {
      case 'ENOENT':
        return `${program} was not found`;
      case 'ETIMEDOUT':
        return `${this.shownCommand} did not finish within ${this.timeoutSeconds} s and was stopped (TableSafetyValidator's timeout)`;
      case 'ENOBUFS':
        return `${this.shownCommand} printed more than ${MAX_REPORT_BYTES / 1024 / 1024} MiB and was stopped`;
      default:
        return `${program} could not be run: ${neutralize(error.message)}`;
    }
  }
}

/**
 * What to check for these templates: the outermost cloud-assembly directories that hold
 * them (a Stage's assembly lies inside its parent's and is read with it), and any template
 * that lies in no assembly.
 */
export function assemblyInputs(templatePaths: string[]): string[] {
  const files = templatePaths.map((path) => resolve(path));
  const assemblies = new Set(files.map(dirname).filter((dir) => existsSync(join(dir, 'manifest.json'))));
  const insideAnother = (dir: string) => [...assemblies].some((other) => other !== dir && dir.startsWith(other + '/'));
  const outermost = [...assemblies].filter((dir) => !insideAnother(dir)).sort();
  const loose = files.filter((file) => !assemblies.has(dirname(file)));
  return [...outermost, ...loose];
}

/** The report that fails the synth because the app was not checked: one fatal violation. */
function notChecked(line: string, wholeApp: ViolatingResource): ValidationReport {
  return {
    success: false,
    violations: [{ ruleName: NOT_CHECKED, description: line, severity: 'fatal', violatingResources: [wholeApp] }],
    metadata: { error: line },
    pluginVersion: VERSION,
  };
}

/** An input tablesafe could not read. */
function inputError(error: JsonError, wholeApp: ViolatingResource): Violation {
  return {
    ruleName: INPUT_ERROR,
    description: neutralize(`${error.path}: ${error.problem}`),
    severity: 'fatal',
    violatingResources: [wholeApp],
  };
}

/** A finding as a violation: `[TS001 pitr-missing] Replica eu-west-1: <message>`, as the Python validator words it. */
function violation(finding: JsonFinding, wholeApp: ViolatingResource): Violation {
  const where = finding.replica_region ? `Replica ${finding.replica_region}: ` : '';
  return {
    ruleName: finding.rule_id,
    description: neutralize(`[${finding.rule_id} ${finding.rule}] ${where}${finding.message}`),
    fix: fixText(finding),
    severity: finding.severity,
    violatingResources:
      finding.logical_id && finding.file
        ? [{ resourceLogicalId: finding.logical_id, templatePath: finding.file, locations: [] }]
        : [wholeApp],
  };
}

/** The fix as `tablesafe check` prints it for a TypeScript app: the summary, then its code. */
function fixText(finding: JsonFinding): string | undefined {
  const code = finding.remediation_code ?? {};
  const lines = finding.remediation ? [finding.remediation] : [];
  for (const [label, snippet] of [['CDK TypeScript', code.cdk_typescript], ['CLI', code.cli]]) {
    if (snippet?.trim()) lines.push(`${label}:`, ...snippet.trim().split('\n').map((line) => `  ${line}`));
  }
  return lines.length > 0 ? lines.map(neutralize).join('\n') : undefined;
}

/** Why this parsed JSON is not a report of `tablesafe check --format json`, or undefined. */
function reportProblem(report: unknown): string | undefined {
  if (!isRecord(report)) return `it is ${kind(report)}, not an object`;
  if (report.tool !== 'tablesafe') return 'its "tool" is not "tablesafe"';
  for (const key of ['findings', 'errors']) {
    if (!Array.isArray(report[key])) return key in report ? `its "${key}" is ${kind(report[key])}, not a list` : `it has no "${key}"`;
  }
  const findings = report.findings as unknown[];
  for (const [index, finding] of findings.entries()) {
    const problem = fieldsProblem(finding, FINDING_FIELDS) ?? remediationCodeProblem(finding);
    if (problem !== undefined) return `findings[${index}] ${problem}`;
    if (!SEVERITIES.has((finding as JsonFinding).severity)) return `findings[${index}] has an unknown severity`;
  }
  const errors = report.errors as unknown[];
  for (const [index, error] of errors.entries()) {
    const problem = fieldsProblem(error, ERROR_FIELDS);
    if (problem !== undefined) return `errors[${index}] ${problem}`;
  }
  return undefined;
}

type FieldKind = 'string' | 'string or null' | 'boolean';
const FINDING_FIELDS: Record<string, FieldKind> = {
  rule_id: 'string',
  rule: 'string',
  severity: 'string',
  message: 'string',
  logical_id: 'string or null',
  replica_region: 'string or null',
  file: 'string or null',
  remediation: 'string or null',
  suppressed: 'boolean',
};
const ERROR_FIELDS: Record<string, FieldKind> = { path: 'string', problem: 'string' };

function fieldsProblem(item: unknown, fields: Record<string, FieldKind>): string | undefined {
  if (!isRecord(item)) return `is ${kind(item)}, not an object`;
  for (const [name, wanted] of Object.entries(fields)) {
    const value = item[name];
    const fits = wanted === 'string or null' ? value === null || typeof value === 'string' : typeof value === wanted;
    if (!fits) return value === undefined ? `has no "${name}"` : `has "${name}" ${kind(value)}, not a ${wanted}`;
  }
  return undefined;
}

/** remediation_code is optional (tablesafe 0.2.0 prints none); when there, its snippets are strings. */
function remediationCodeProblem(finding: unknown): string | undefined {
  const code = (finding as { remediation_code?: unknown }).remediation_code;
  if (code === undefined) return undefined;
  if (!isRecord(code)) return `has "remediation_code" ${kind(code)}, not an object`;
  const bad = ['cdk_typescript', 'cli'].find((key) => code[key] !== undefined && typeof code[key] !== 'string');
  return bad === undefined ? undefined : `has "remediation_code.${bad}" ${kind(code[bad])}, not a string`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON value's kind, for a message: null, a list, an object, a string, ... */
function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function lastLine(text: string | null): string {
  return (text ?? '').trim().split('\n').pop()?.trim() ?? '';
}

/** The command's own words, neutralized and cut, for the end of a failure line. */
function quoted(text: string): string {
  if (!text) return '';
  const shown = neutralize(text);
  return `: "${shown.length > MAX_QUOTED ? shown.slice(0, MAX_QUOTED) + '...' : shown}"`;
}

/** Text from templates and the command for a terminal: control characters and line separators shown escaped. */
export function neutralize(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}
