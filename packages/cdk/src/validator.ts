import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyViolation,
} from 'aws-cdk-lib';
import { RULE_SLUGS } from './rules';

/** The package's version (package.json), which a test keeps equal to tablesafe's. */
export const VERSION: string = require('../package.json').version;

/** How tablesafe is installed, for the one line a missing command prints. */
export const INSTALL_HINT =
  'install tablesafe (Python 3.11+: `pip install <a tablesafe checkout or wheel>`, see its README) ' +
  'or pass `command` to TableSafetyValidator';

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
}

/** One finding of `tablesafe check --format json` (the fields this plugin reads). */
interface JsonFinding {
  rule_id: string;
  rule: string;
  severity: string;
  message: string;
  logical_id: string | null;
  replica_region: string | null;
  file: string | null;
  remediation: string | null;
  suppressed: boolean;
}

/**
 * The tablesafe rules as a CDK policy-validation plugin, for TypeScript and every jsii
 * language that installs from npm:
 *
 *     Validations.of(app).addPlugins(new TableSafetyValidator());
 *
 * CDK calls it once, after synthesis; it runs `tablesafe check --format json` on the cloud
 * assembly that holds the templates (so construct paths, nested stacks and the analytics
 * props are known) and reports each unsuppressed finding as a violation named by its rule
 * id, with the full message, the fix, the template and the logical ID.
 */
export class TableSafetyValidator implements IPolicyValidationPlugin {
  public readonly name = 'tablesafe';
  public readonly version = VERSION;
  public readonly ruleIds = Object.keys(RULE_SLUGS);
  private readonly command: string[];

  constructor(private readonly props: TableSafetyValidatorProps = {}) {
    this.command = props.command ?? ['tablesafe'];
    if (this.command.length === 0) {
      throw new Error('TableSafetyValidator: command must name a program');
    }
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const [program, ...leading] = this.command;
    const args = [...leading, 'check', ...assemblyInputs(context.templatePaths), '--format', 'json'];
    args.push('--fail-on', this.props.failOn ?? 'error');
    if (this.props.config) args.push('--config', this.props.config);
    if (this.props.lock) args.push('--lock', this.props.lock);
    const run = spawnSync(program, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (run.error) {
      const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(missing ? `${program} was not found: ${INSTALL_HINT}` : `${program}: ${run.error.message}`);
    }
    let report: { findings: JsonFinding[]; errors: unknown[] };
    try {
      report = JSON.parse(run.stdout);
    } catch {
      const said = (run.stderr || run.stdout).trim().split('\n').pop() ?? '';
      throw new Error(`${program} check exited ${run.status} without a JSON report: ${neutralize(said)}`);
    }
    const violations: PolicyViolation[] = report.errors.map((error) => ({
      ruleName: 'input-error',
      description: neutralize(describeError(error)),
      severity: 'error',
      violatingResources: [],
    }));
    for (const finding of report.findings.filter((f) => !f.suppressed)) {
      violations.push({
        ruleName: finding.rule_id,
        description: neutralize(describeFinding(finding)),
        fix: finding.remediation ?? undefined,
        severity: finding.severity,
        violatingResources:
          finding.logical_id && finding.file
            ? [{ resourceLogicalId: finding.logical_id, templatePath: finding.file, locations: [] }]
            : [],
      });
    }
    return { success: run.status === 0, violations, pluginVersion: VERSION };
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

/** `[TS001 pitr-missing] Replica eu-west-1: <message>`, as the Python validator words it. */
function describeFinding(finding: JsonFinding): string {
  const where = finding.replica_region ? `Replica ${finding.replica_region}: ` : '';
  return `[${finding.rule_id} ${finding.rule}] ${where}${finding.message}`;
}

function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'path' in error && 'problem' in error) {
    return `${String(error.path)}: ${String(error.problem)}`;
  }
  return String(error);
}

/** Text from templates and the command for a terminal: control characters shown escaped. */
export function neutralize(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
