import Type from "typebox";

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "Stable machine-readable code, e.g. users.last_owner" }),
      message: Type.String({ description: "A sentence for people" }),
      field: Type.Optional(Type.String({ description: "The request field at fault, as a JSON pointer" })),
      requestId: Type.String(),
    }),
  },
  { $id: undefined },
);
