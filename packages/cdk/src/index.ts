export { TableSafetyValidator, TableSafetyValidatorProps, INSTALL_HINT, VERSION } from './validator';
export { suppress, METADATA_KEY } from './suppress';
export { RULE_SLUGS } from './rules';
