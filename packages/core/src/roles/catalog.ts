export interface SyncReport {
  source: string;
  pulled: number;
  upserted: number;
  failed: Array<{ key: string; message: string }>;
  cursor: string | null;
}

export interface CatalogSyncCapabilities {
  products: boolean;
  prices: boolean;
  inventory: boolean;
  content: boolean;
  pushEngagements: boolean;
  webhooks: boolean;
}

export interface CatalogSyncRole {
  readonly capabilities: CatalogSyncCapabilities;
  pullProducts(options?: { since?: string; cursor?: string }): Promise<SyncReport>;
  pullPrices(options?: { since?: string }): Promise<SyncReport>;
  pullInventory(options?: { since?: string }): Promise<SyncReport>;
  pullContent(options?: { since?: string }): Promise<SyncReport>;
  pushEngagement(engagementId: string): Promise<{ externalId: string }>;
  handleWebhook(request: { headers: Record<string, string | string[] | undefined>; body: string }): Promise<SyncReport>;
}
