// GraphQL Code Generator configuration for a TypeScript client of paylater.
// Copy it into the client's project as codegen.ts, point `schema` at paylater's
// schema.graphql (or at a running server's /graphql, where introspection is on) and
// `documents` at the files holding the client's operations, then run `npx graphql-codegen`.
//
// Needs: npm install --save-dev @graphql-codegen/cli @graphql-codegen/client-preset
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["src/**/*.{ts,tsx,graphql}"],
  ignoreNoDocuments: true,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        // Fail on a scalar missing below, rather than typing it `any`.
        strictScalars: true,
        // paylater's custom scalars all travel as JSON strings.
        scalars: {
          CurrencyCode: "string", // ISO 4217 code: "EUR"
          Date: "string", // ISO date: "2027-02-28"
          DateTime: "string", // RFC 3339 UTC: "2027-01-31T10:00:00.000Z"
          Decimal: "string", // plain decimal, never a float: "124.80"
        },
        enumsAsTypes: true,
      },
    },
  },
};

export default config;
