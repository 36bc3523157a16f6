/**
 * RFC 6570 URI templates as MCP resource templates use them: compiled once, and matched against a
 * URI without throwing (an invalid template, or one that cannot match, simply does not match).
 */
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';

export type CompiledTemplate = UriTemplate;

/** The compiled template, or undefined when `raw` is not a valid URI template. */
export function compileTemplate(raw: string): CompiledTemplate | undefined {
  try {
    return new UriTemplate(raw);
  } catch {
    return undefined;
  }
}

export function templateMatches(template: CompiledTemplate, uri: string): boolean {
  try {
    return template.match(uri) !== null;
  } catch {
    return false;
  }
}
