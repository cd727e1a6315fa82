/** A Salesforce error answer: the REST shape or the sObject Collections shape. */
export class SfFault extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
    readonly extra?: Record<string, unknown>,
    /** Answered instead of `[error]` (300 Multiple Choices). */
    readonly body?: unknown,
  ) {
    super(message);
  }

  /** REST shape: one element of the answered array. */
  rest(): Record<string, unknown> {
    return {
      message: this.message,
      errorCode: this.errorCode,
      ...(this.fields ? { fields: this.fields } : {}),
      ...this.extra,
    };
  }

  /** sObject Collections shape: `statusCode`, not `errorCode`. */
  collection(): Record<string, unknown> {
    return { statusCode: this.errorCode, message: this.message, fields: this.fields ?? [] };
  }
}

export const notFound = () => new SfFault(404, 'NOT_FOUND', 'The requested resource does not exist');
