export { TableSafetyValidator, TableSafetyValidatorProps, INSTALL_HINT, INPUT_ERROR, NOT_CHECKED, VERSION } from './validator';
export { suppress, METADATA_KEY, TableConstruct } from './suppress';
export { RULE_SLUGS } from './rules';
