import type { NewEngagement } from "./data/engagements.js";

export interface OrderAnalysis {
  summary: string;
  risks: string[];
  suggestions: string[];
}

export interface AiCapabilities {
  structuredOutput: boolean;
}

export interface AiRole {
  readonly capabilities: AiCapabilities;
  /** Draft engagement from free text such as an e-mailed order; validated against the engagement schema. */
  engagementFromText(text: string, options?: { customerId?: string }): Promise<NewEngagement>;
  analyzeOrder(engagementId: string): Promise<OrderAnalysis>;
  /** Generates a worker definition (task, handler outline) from a description. */
  generateWorker(description: string): Promise<{ task: string; description: string; code: string }>;
}
