package io.todoe2e.walkthrough;

import graphql.GraphQLError;
import graphql.GraphqlErrorBuilder;
import graphql.schema.DataFetchingEnvironment;
import io.todoe2e.walkthrough.Model.BadInput;
import io.todoe2e.walkthrough.Model.NotFound;
import org.springframework.graphql.execution.DataFetcherExceptionResolverAdapter;
import org.springframework.graphql.execution.ErrorType;
import org.springframework.stereotype.Component;

/** Our own exceptions become GraphQL errors with a classification and the message; others stay opaque. */
@Component
class Errors extends DataFetcherExceptionResolverAdapter {

    @Override
    protected GraphQLError resolveToSingleError(Throwable ex, DataFetchingEnvironment env) {
        ErrorType type;
        if (ex instanceof NotFound) {
            type = ErrorType.NOT_FOUND;
        } else if (ex instanceof BadInput) {
            type = ErrorType.BAD_REQUEST;
        } else {
            return null;
        }
        return GraphqlErrorBuilder.newError(env).errorType(type).message(ex.getMessage()).build();
    }
}
