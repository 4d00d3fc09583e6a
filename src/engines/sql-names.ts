/** An identifier as MySQL or PostgreSQL write it: `quoted`, "quoted" or bare. */
export const ID = String.raw`(?:\`(?:[^\`]|\`\`)+\`|"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)`;
/** An identifier, optionally qualified with its schema. */
export const QID = String.raw`${ID}(?:\s*\.\s*${ID})?`;
